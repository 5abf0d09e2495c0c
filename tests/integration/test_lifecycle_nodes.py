"""Hooks, global hooks and schemas with real child processes; periodic workers across nodes
and restarts on one SQLite file and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import actors
from actors import TaskStatus, TaskWorker
from actors.testing import eventually

from . import hook_functions as hooks

HOOKS = {"init": hooks.init, "on_start": hooks.on_start, "on_success": hooks.on_success,
         "on_complete": hooks.on_complete, "on_abort": hooks.on_abort, "cleanup": hooks.cleanup}


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[actors.Supervisor]:
    node = actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=1, abort_grace=5.0)
    yield node
    node.stop(timeout=5)


def lines(path: Path) -> list[tuple[str, int]]:
    return [(name, int(pid)) for name, pid in (line.split() for line in path.read_text().splitlines())]


def test_hooks_run_in_the_child_process(sup: actors.Supervisor, tmp_path: Path) -> None:
    path = tmp_path / "hooks.txt"
    sup.register_task_worker(TaskWorker("PIDS", hooks.pids, **HOOKS))
    result = sup.wait(sup.create_task("PIDS", metadata={"path": str(path)}), timeout=60)
    child = result["execute"]
    assert child != os.getpid() and child in sup.worker_pids()
    assert result["init"] == child  # ctx.init: what init returned, in the same process
    assert lines(path) == [(name, child) for name in ("init", "on_start", "on_success", "on_complete", "cleanup")]


def test_a_hook_may_record_into_the_tasks_metadata(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("PIDS", hooks.pids, on_complete=hooks.record_pid))
    task_id = sup.create_task("PIDS")
    child = sup.wait(task_id, timeout=60)["execute"]
    assert sup.get_task(task_id).metadata == {"hook_pid": child}  # type: ignore[union-attr]


def test_hooks_run_in_the_supervisors_process_under_thread_isolation(sup: actors.Supervisor,
                                                                      tmp_path: Path) -> None:
    path = tmp_path / "hooks.txt"
    sup.register_task_worker(TaskWorker("PIDS", hooks.pids, isolation="thread", **HOOKS))
    result = sup.wait(sup.create_task("PIDS", metadata={"path": str(path)}), timeout=60)
    assert result == {"execute": os.getpid(), "init": os.getpid()}
    assert [name for name, _ in lines(path)] == ["init", "on_start", "on_success", "on_complete", "cleanup"]


def test_global_hooks_reach_the_child(sup: actors.Supervisor, tmp_path: Path) -> None:
    path = tmp_path / "hooks.txt"
    sup.register_task_worker(TaskWorker("PIDS", hooks.pids))
    before = sup.wait(sup.create_task("PIDS", metadata={"path": str(path)}), timeout=60)
    assert set(before) == {"execute", "init"} and not path.exists()  # no hook yet
    sup.on("success", hooks.global_success)
    sup.use(hooks.times_ten)
    after = sup.wait(sup.create_task("PIDS", metadata={"path": str(path)}), timeout=60)
    child = after["wrapped"]["execute"]
    assert child != os.getpid()
    assert lines(path) == [("global_success", child)]


def test_on_abort_runs_in_the_child_when_a_running_task_is_cancelled(sup: actors.Supervisor,
                                                                       tmp_path: Path) -> None:
    path = tmp_path / "hooks.txt"
    sup.register_task_worker(TaskWorker("LOOP", hooks.until_aborted, on_abort=hooks.on_abort,
                                        on_complete=hooks.on_complete, cleanup=hooks.cleanup))
    task_id = sup.create_task("LOOP", metadata={"path": str(path)})
    eventually(lambda: path.exists() and "running" in path.read_text(), timeout=60)
    sup.cancel_task(task_id)
    eventually(lambda: "cleanup" in path.read_text(), timeout=30)
    seen = lines(path)
    assert [name for name, _ in seen] == ["running", "on_abort", "on_complete", "cleanup"]
    assert len({pid for _, pid in seen}) == 1 and seen[0][1] != os.getpid()
    assert sup.get_task(task_id).status is TaskStatus.CANCELLED  # type: ignore[union-attr]


def test_a_model_schema_gives_the_child_the_model_instance(sup: actors.Supervisor, tmp_path: Path) -> None:
    sup.register_task_worker(TaskWorker("ORDER", hooks.model_type, schema=hooks.Order))
    with pytest.raises(actors.ValidationError, match="quantity"):
        sup.create_task("ORDER", metadata={"path": "x", "quantity": "lots"})
    task_id = sup.create_task("ORDER", metadata={"path": "x", "quantity": "3"})
    assert sup.get_task(task_id).metadata == {"path": "x", "quantity": 3}  # type: ignore[union-attr]
    result = sup.wait(task_id, timeout=60)
    assert (result["type"], result["quantity"]) == ("Order", 3) and result["pid"] != os.getpid()


def test_a_periodic_worker_has_one_schedule_across_nodes_and_restarts(store_url: str) -> None:
    worker = TaskWorker("REPORT", print, frequency=300)
    with actors.Supervisor.start(store_url, workers=0) as first, \
            actors.Supervisor.start(store_url, workers=0) as second:
        first.register_task_worker(worker)
        second.register_task_worker(worker)
        [schedule] = second.get_schedules()
        assert (schedule.key, schedule.every) == ("REPORT", 300.0)
    with actors.Supervisor.start(store_url, workers=0) as restarted:
        restarted.register_task_worker(TaskWorker("REPORT", print, frequency=300))
        assert restarted.get_schedules() == [schedule]  # the same row: its next fire time kept
