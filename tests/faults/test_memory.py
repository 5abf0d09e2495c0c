"""``rss_limit_mb`` holds while a task runs, end to end through ``actors.Supervisor``.

A task that allocates past the limit is killed mid-run (it used to succeed: the limit
was only checked after a task ended); the attempt ends ``Crashed`` naming the limit and
the RSS seen, so a task that always does it is quarantined after ``max_crashes``; the
pool runs the next task in a new child.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import actors
from actors import TaskStatus, TaskWorker
from actors.testing import eventually
from tests.helpers import process_gone

from . import child_tasks as tasks

pytestmark = pytest.mark.timeout(60)

LIMIT = re.compile(r"the child process \(pid (\d+)\) was killed: RSS (\d+) MiB over rss_limit_mb=150")


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[actors.Supervisor]:
    node = actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=1, rss_limit_mb=150)
    node.register_task_worker(TaskWorker("ADD", tasks.add))
    node.register_task_worker(TaskWorker("HOG", tasks.hog))
    yield node
    node.stop(timeout=5)


def next_task_runs_in_a_new_child(sup: actors.Supervisor, dead: list[int]) -> None:
    eventually(lambda: all(process_gone(pid) for pid in dead), timeout=10)
    result = sup.wait(sup.create_task("ADD", metadata={"a": 1, "b": 2}), timeout=30)
    assert result["sum"] == 3 and result["pid"] not in dead


def test_a_task_that_always_passes_the_limit_is_killed_each_time_then_quarantined(
        sup: actors.Supervisor, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    task_id = sup.create_task("HOG", metadata={"pids": str(pids), "mb": 400})
    with pytest.raises(actors.TaskFailed, match="quarantined after 3 crashes"):
        sup.wait(task_id, timeout=30)
    task = sup.get_task(task_id)
    assert task is not None and task.error is not None
    assert (task.status, task.attempts, task.crash_count) == (TaskStatus.FAILED, 3, 3)
    seen = LIMIT.search(task.error)
    assert seen is not None, task.error
    assert int(seen[1]) == tasks.pids(pids)[-1] and 150 <= int(seen[2]) < 400  # on the way up (rounded MiB)
    assert len(set(tasks.pids(pids))) == 3
    next_task_runs_in_a_new_child(sup, tasks.pids(pids))
    stats = sup.stats()
    assert (stats["tasks"]["failed"], stats["tasks"]["succeeded"], stats["held"]) == (1, 1, 0)


def test_a_task_killed_once_over_the_limit_runs_again_in_a_new_child(
        sup: actors.Supervisor, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    task_id = sup.create_task("HOG", metadata={"pids": str(pids), "mb": 400, "faults": 1})
    assert sup.wait(task_id, timeout=30) == 0  # the second attempt allocates nothing
    task = sup.get_task(task_id)
    assert task is not None
    assert (task.status, task.attempts, task.crash_count) == (TaskStatus.SUCCEEDED, 2, 1)
    killed, rerun = tasks.pids(pids)
    assert killed != rerun
    next_task_runs_in_a_new_child(sup, [killed])


def test_the_limit_counts_the_processes_a_task_starts(sup: actors.Supervisor, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    sup.register_task_worker(TaskWorker("GRANDCHILD_HOG", tasks.hog_in_a_grandchild))
    task_id = sup.create_task("GRANDCHILD_HOG", metadata={"pids": str(pids)})
    with pytest.raises(actors.TaskFailed, match="quarantined after 3 crashes") as failed:
        sup.wait(task_id, timeout=30)
    assert LIMIT.search(str(failed.value)) is not None
    assert len(tasks.pids(pids)) == 6  # three children, each with its grandchild
    next_task_runs_in_a_new_child(sup, tasks.pids(pids))


def test_a_task_under_the_limit_is_left_alone(sup: actors.Supervisor, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    task_id = sup.create_task("HOG", metadata={"pids": str(pids), "mb": 50})
    assert sup.wait(task_id, timeout=30) == 50 << 20
    task = sup.get_task(task_id)
    assert task is not None and (task.attempts, task.crash_count) == (1, 0)
