"""Child processes that die or misbehave under a task, end to end through ``actors.Supervisor``.

Real children on a temporary SQLite file: a segfault, ``os._exit``, a child that ignores
SIGTERM (under a timeout and under ``cancel_task``), a child frozen by SIGSTOP, a child
that stops reading its pipe. Each time the attempt's end is recorded and says what
happened, the task is retried or failed per its policy, the killed child is gone, and
the pool runs the next task in a new child.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import actors
from actors import Retry, TaskStatus, TaskWorker
from actors.execution.process import executor as executor_module
from actors.testing import eventually
from tests.helpers import process_gone

from . import child_tasks as tasks

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[actors.Supervisor]:
    node = actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=1, kill_grace=0.2, abort_grace=0.3)
    node.register_task_worker(TaskWorker("ADD", tasks.add))
    yield node
    node.stop(timeout=5)


@pytest.fixture
def pids(tmp_path: Path) -> Path:
    return tmp_path / "pids"


def task(sup: actors.Supervisor, task_id: str) -> actors.Task:
    found = sup.get_task(task_id)
    assert found is not None
    return found


def assert_recovered(sup: actors.Supervisor, dead: list[int]) -> None:
    """Every child in ``dead`` is gone, the next task runs in a new child, ``stats()`` answers."""
    assert dead
    eventually(lambda: all(process_gone(pid) for pid in dead), timeout=10)
    result = sup.wait(sup.create_task("ADD", metadata={"a": 2, "b": 3}), timeout=30)
    assert result["sum"] == 5 and result["pid"] not in dead
    assert sup.worker_pids() == [result["pid"]]
    stats = sup.stats()
    assert stats["tasks"]["succeeded"] >= 1 and stats["held"] == 0


# --- the child dies on its own ------------------------------------------------------------------

DEATHS = [pytest.param(tasks.segfault, "was killed by signal SIGSEGV", id="sigsegv"),
          pytest.param(tasks.exit3, "exited with code 3", id="os_exit_3")]


@pytest.mark.parametrize(("execute", "says"), DEATHS)
def test_a_child_that_always_dies_quarantines_its_task_and_the_pool_recovers(
        sup: actors.Supervisor, pids: Path, execute: Any, says: str) -> None:
    sup.register_task_worker(TaskWorker("DIES", execute, retry=Retry(max_attempts=10, min_delay=0)))
    task_id = sup.create_task("DIES", metadata={"pids": str(pids)})
    with pytest.raises(actors.TaskFailed, match="quarantined after 3 crashes") as failed:
        sup.wait(task_id, timeout=30)
    assert says in str(failed.value)
    dead = task(sup, task_id)
    assert (dead.status, dead.attempts, dead.crash_count) == (TaskStatus.FAILED, 3, 3)
    assert dead.error is not None and f"Crashed: the child process (pid {tasks.pids(pids)[-1]}) {says}" in dead.error
    assert len(set(tasks.pids(pids))) == 3  # each attempt in a new child
    assert_recovered(sup, tasks.pids(pids))


@pytest.mark.parametrize(("execute", "says"), DEATHS)
def test_a_child_that_dies_once_is_replaced_and_the_task_retried(
        sup: actors.Supervisor, pids: Path, execute: Any, says: str) -> None:
    # Retry(max_attempts=1): a crash is not the task's own failure, it runs again anyway
    sup.register_task_worker(TaskWorker("DIES_ONCE", execute, retry=Retry(max_attempts=1)))
    task_id = sup.create_task("DIES_ONCE", metadata={"pids": str(pids), "faults": 1})
    pid = sup.wait(task_id, timeout=30)
    done = task(sup, task_id)
    assert (done.status, done.attempts, done.crash_count, done.failure_count) == (TaskStatus.SUCCEEDED, 2, 1, 0)
    crashed, rerun = tasks.pids(pids)
    assert pid == rerun != crashed
    assert_recovered(sup, [crashed])


# --- the child ignores SIGTERM ------------------------------------------------------------------


def test_a_child_that_ignores_sigterm_is_killed_at_its_timeout(sup: actors.Supervisor, pids: Path) -> None:
    sup.register_task_worker(TaskWorker("DEAF", tasks.deaf_sleeper, timeout=0.4,
                                        retry=Retry(max_attempts=2, min_delay=0, jitter=False)))
    task_id = sup.create_task("DEAF", metadata={"pids": str(pids)})
    with pytest.raises(actors.TaskFailed, match=r"Timeout: the attempt ran longer than 0\.4s"):
        sup.wait(task_id, timeout=30)
    failed = task(sup, task_id)
    assert (failed.status, failed.attempts, failed.failure_count, failed.crash_count) == (TaskStatus.FAILED, 2, 2, 0)
    first, second = tasks.pids(pids)
    assert first != second  # the first child was killed (SIGTERM ignored: SIGKILL), not reused
    assert_recovered(sup, [first, second])


def test_a_child_that_ignores_sigterm_is_killed_when_its_task_is_cancelled(
        sup: actors.Supervisor, pids: Path) -> None:
    sup.register_task_worker(TaskWorker("DEAF", tasks.deaf_sleeper))
    task_id = sup.create_task("DEAF", metadata={"pids": str(pids)})
    eventually(lambda: tasks.pids(pids), timeout=30)
    (pid,) = tasks.pids(pids)
    assert sup.cancel_task(task_id).status is TaskStatus.CANCELLED
    with pytest.raises(actors.TaskCancelled):
        sup.wait(task_id, timeout=5)
    eventually(lambda: process_gone(pid), timeout=10)  # abort_grace, SIGTERM ignored, SIGKILL
    killed = task(sup, task_id)
    assert (killed.status, killed.crash_count) == (TaskStatus.CANCELLED, 0)  # the kill is not a crash
    assert_recovered(sup, [pid])


# --- the child is frozen by SIGSTOP -------------------------------------------------------------


def test_a_child_that_stops_itself_is_killed_at_its_timeout(sup: actors.Supervisor, pids: Path) -> None:
    # It freezes at once (its module already loaded in the child by a first task): the parent
    # does not hear that the attempt started, the child's outbox froze with it.
    sup.register_task_worker(TaskWorker("FREEZE", tasks.stop_myself, timeout=0.5, retry=Retry(max_attempts=1)))
    assert sup.wait(sup.create_task("ADD", metadata={"a": 1, "b": 1}), timeout=30)["sum"] == 2
    task_id = sup.create_task("FREEZE", metadata={"pids": str(pids)})
    with pytest.raises(actors.TaskFailed, match=r"Timeout: the attempt ran longer than 0\.5s"):
        sup.wait(task_id, timeout=20)
    failed = task(sup, task_id)
    assert (failed.status, failed.attempts) == (TaskStatus.FAILED, 1)
    assert_recovered(sup, tasks.pids(pids))


def test_a_child_stopped_from_outside_is_killed_at_its_timeout(sup: actors.Supervisor, pids: Path) -> None:
    sup.register_task_worker(TaskWorker("SLEEP", tasks.sleeper, timeout=1.0,
                                        retry=Retry(max_attempts=2, min_delay=0, jitter=False)))
    task_id = sup.create_task("SLEEP", metadata={"pids": str(pids)})
    eventually(lambda: tasks.pids(pids), timeout=30)
    (pid,) = tasks.pids(pids)
    os.kill(pid, signal.SIGSTOP)
    eventually(lambda: len(tasks.pids(pids)) == 2, timeout=10)  # timed out, retried in a new child
    assert process_gone(pid)
    with pytest.raises(actors.TaskFailed, match=r"Timeout: the attempt ran longer than 1s"):
        sup.wait(task_id, timeout=20)
    assert task(sup, task_id).attempts == 2
    assert_recovered(sup, tasks.pids(pids))


# --- the child stops reading its pipe -----------------------------------------------------------


def test_a_stopped_child_does_not_block_the_supervisor(sup: actors.Supervisor, monkeypatch: Any) -> None:
    monkeypatch.setattr(executor_module, "_SEND_STALL", 0.5, raising=False)
    (pid,) = sup.worker_pids()
    os.kill(pid, signal.SIGSTOP)  # idle: it runs nothing, it reads nothing
    blob = b"x" * (8 << 20)  # the function travels by value: one 8 MiB message, far past a socket buffer

    def big(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, int]:
        return {"size": len(blob), "pid": os.getpid()}

    sup.register_task_worker(TaskWorker("BIG", big))
    started = time.monotonic()
    task_id = sup.create_task("BIG")
    assert sup.stats()["held"] <= 1  # the supervisor answers (it used to hang in sendall)
    result = sup.wait(task_id, timeout=20)
    assert result["size"] == 8 << 20 and result["pid"] != pid
    assert time.monotonic() - started < 10
    done = task(sup, task_id)
    assert (done.status, done.attempts, done.crash_count) == (TaskStatus.SUCCEEDED, 1, 0)  # it never started
    assert_recovered(sup, [pid])

