"""Contract breaks of issue 11 on a real node: real child processes, a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

import actors
from actors import TaskStatus, TaskWorker
from actors.testing import eventually

from . import task_functions as fns


def test_the_node_timeout_is_the_default_attempt_timeout(tmp_path: Path) -> None:
    """task > worker > node: under ``timeout=0.3`` a 1 s attempt with no timeout of its own
    (nor of its worker) is killed and fails; one whose task or worker sets more succeeds."""
    with actors.Supervisor.start(str(tmp_path / "t.db"), workers=3, timeout=0.3, kill_grace=0.2) as sup:
        sup.register_task_worker(TaskWorker("SLEEP", fns.sleeper))
        sup.register_task_worker(TaskWorker("PATIENT", fns.sleeper, timeout=5.0))
        by_node = sup.create_task("SLEEP", metadata={"seconds": 1.0}, max_attempts=1)
        by_task = sup.create_task("SLEEP", metadata={"seconds": 1.0}, timeout=5.0)
        by_worker = sup.create_task("PATIENT", metadata={"seconds": 1.0})
        with pytest.raises(actors.TaskFailed, match=r"longer than 0\.3s"):
            sup.wait(by_node, timeout=30)
        assert sup.wait(by_task, timeout=30) == {"slept": True}
        assert sup.wait(by_worker, timeout=30) == {"slept": True}
        failed = sup.get_task(by_node)
        assert failed is not None
        assert (failed.status, failed.timeout) == (TaskStatus.FAILED, None)  # applied, not stored


# --- a new interval takes effect at once (ELIZA_SPEC: due = last run + interval) -------------------
# poll_interval=30: the node learns of the moved run only from the update itself (no poll helps).


def _node(tmp_path: Path) -> actors.Supervisor:
    return actors.Supervisor.start(str(tmp_path / "t.db"), workers=1, thread_workers=2, poll_interval=30)


def _ran(sup: actors.Supervisor, task_id: str) -> bool:
    task = sup.get_task(task_id)
    return task is not None and task.attempts >= 1


def test_update_task_with_a_shorter_interval_runs_within_a_second(tmp_path: Path) -> None:
    with _node(tmp_path) as sup:
        sup.register_task_worker(TaskWorker("TICK", fns.noop))
        by_keyword = sup.create_task("TICK", update_interval=100)
        by_seeds = sup.create_task("TICK", metadata={"updateInterval": 100_000})
        sup.update_task(by_keyword, update_interval=0.1)
        sup.update_task(by_seeds, metadata={"updateInterval": 300})  # the seeds' form, in ms
        eventually(lambda: _ran(sup, by_keyword) and _ran(sup, by_seeds), timeout=1.5)
        task = sup.get_task(by_seeds)
        assert task is not None and task.update_interval == 0.3


class _Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, sup: object) -> int:
        self.calls += 1
        return 0


def test_task_drain_update_interval_and_adoption_move_the_pending_run(tmp_path: Path) -> None:
    with _node(tmp_path) as sup:
        first = _Counter()
        drain = actors.TaskDrain("DRAIN_A", 100, on_drain=first)
        drain.start(sup)
        drain.update_interval(sup, 0.1)
        eventually(lambda: first.calls >= 1, timeout=1.5)
        adopted = actors.TaskDrain("DRAIN_B", 100, on_drain=_Counter())
        adopted.start(sup)
        second = _Counter()
        again = actors.TaskDrain("DRAIN_B", 0.1, on_drain=second)  # finds DRAIN_B's row: adopts it
        assert again.start(sup) == adopted.id
        eventually(lambda: second.calls >= 1, timeout=1.5)


def test_affinity_drains_add_with_a_shorter_interval_moves_the_pending_run(tmp_path: Path) -> None:
    with _node(tmp_path) as sup:
        drains = actors.AffinityDrains("BATCHER_DRAIN", max_interval=100)
        drains.start(sup)
        counter = _Counter()
        drains.add("room-1", counter, interval=100)
        drains.add("room-1", counter, interval=0.1)
        eventually(lambda: counter.calls >= 1, timeout=1.5)
        drains.dispose()
