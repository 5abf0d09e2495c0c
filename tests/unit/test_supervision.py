"""Supervision: a dead child is restarted up to the restart intensity, beyond which the node
stops itself and says why; a stopped node answers every public call with ``NodeStopped``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pykka
import pytest

import actors
from actors import ManualClock, TaskStatus, TaskWorker
from actors.messages import ChildExited, Tick
from actors.runtime.intensity import RestartIntensity
from actors.runtime.scheduler import Scheduler
from actors.testing import eventually, inline_supervisor

START = 1_700_000_000.0


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["a"]) + int(options["b"])


def _kill_worker(node: actors.Supervisor, index: int = 0) -> pykka.ActorRef[Any]:
    """Make worker ``index``'s handler raise (the test seam: a message it does not know)."""
    ref = node._workers[index]
    ref.tell(object())
    eventually(lambda: not ref.is_alive())
    return ref


def test_restart_intensity_counts_restarts_in_a_sliding_window() -> None:
    limit = RestartIntensity(max_restarts=5, within=10.0)
    assert all(limit.allow(float(t)) for t in range(5))
    assert not limit.allow(5.0)  # the sixth within 10 s
    assert limit.allow(16.0)  # 0..5 are out of the window ending at 16
    assert limit.recent(16.0) == 1 and limit.total == 7


def test_a_dead_worker_actor_is_restarted_and_the_node_keeps_running_tasks() -> None:
    node = inline_supervisor(clock=ManualClock(START))
    try:
        node.register_task_worker(TaskWorker("ADD", add))
        assert node.wait(node.create_task("ADD", metadata={"a": 1, "b": 1}), timeout=10) == 2
        dead = _kill_worker(node)
        eventually(lambda: node.stats()["health"]["restarts"] == 1)
        assert node._workers[0] is not dead and node._workers[0].is_alive()
        for n in range(3):
            assert node.wait(node.create_task("ADD", metadata={"a": n, "b": 1}), timeout=10) == n + 1
        assert node.stats()["health"]["stopped"] is None
    finally:
        node.stop()


def test_a_worker_stopped_from_outside_is_restarted_and_its_claims_are_not_lost() -> None:
    clock = ManualClock(START)
    node = inline_supervisor(clock=clock, max_batch=1)
    gate = threading.Event()
    try:
        node.register_task_worker(TaskWorker("WAIT", lambda ctx, options, task: gate.wait(10) and task.id))
        ids = node.create_tasks([{"name": "WAIT"} for _ in range(3)])
        eventually(lambda: node.stats()["tasks"]["running"] >= 1)
        ref = node._workers[0]
        ref.stop(block=False)  # queued behind the running task
        gate.set()
        eventually(lambda: node.stats()["health"]["restarts"] == 1)
        for task_id in ids:
            assert node.wait(task_id, timeout=10) == task_id
        assert [t.attempts for t in node.get_tasks()] == [1, 1, 1]
    finally:
        node.stop()


def test_past_the_restart_intensity_the_node_stops_itself_and_says_why() -> None:
    clock = ManualClock(START)
    node = inline_supervisor(clock=clock, max_restarts=1, restart_window=10.0)
    try:
        node.register_task_worker(TaskWorker("ADD", add))
        _kill_worker(node)
        eventually(lambda: node.stats()["health"]["restarts"] == 1)
        _kill_worker(node)

        def stopped() -> actors.NodeStopped | None:
            try:
                node.stats()
            except actors.NodeStopped as exc:
                return exc
            return None

        error = eventually(stopped)
        assert "2 child restarts within 10.0s" in error.reason and "worker exited" in error.reason
        assert error.health is not None and error.health["stopped"] == error.reason
        with pytest.raises(actors.NodeStopped, match="child restarts"):
            node.create_task("ADD")  # refused before it inserts: nothing stored
        assert node.store.counts()[TaskStatus.PENDING.value] == 0
        with pytest.raises(actors.NodeStopped):
            node.wait("anything", timeout=5)
        assert node.store.counts()[TaskStatus.RUNNING.value] == 0
    finally:
        node.stop()


def test_restarts_outside_the_window_do_not_stop_the_node() -> None:
    clock = ManualClock(START)
    node = inline_supervisor(clock=clock, max_restarts=1, restart_window=10.0)
    try:
        node.register_task_worker(TaskWorker("ADD", add))
        _kill_worker(node)
        eventually(lambda: node.stats()["health"]["restarts"] == 1)
        clock.advance(11)
        _kill_worker(node)
        eventually(lambda: node.stats()["health"]["restarts"] == 2)
        assert node.wait(node.create_task("ADD", metadata={"a": 2, "b": 2}), timeout=10) == 4
    finally:
        node.stop()


class _Target:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.event = threading.Event()

    def tell(self, message: Any) -> None:
        self.messages.append(message)
        self.event.set()


class _BrokenClock:
    """A clock whose ``now`` raises once (the scheduler thread dies of it)."""

    def __init__(self) -> None:
        self.broken = True

    def now(self) -> float:
        if self.broken:
            self.broken = False
            raise RuntimeError("clock broke")
        return START


def test_a_scheduler_thread_that_dies_tells_the_supervisor_and_can_be_restarted() -> None:
    target = _Target()
    scheduler = Scheduler(target, _BrokenClock(), poll_interval=60).start()
    try:
        exited = eventually(lambda: [m for m in target.messages if isinstance(m, ChildExited)])
        assert exited[0].kind == "scheduler" and "clock broke" in exited[0].reason
        eventually(lambda: not scheduler.alive)
        scheduler.restart()
        eventually(lambda: any(isinstance(m, Tick) for m in target.messages))
        assert scheduler.alive
    finally:
        scheduler.stop()


PUBLIC_CALLS: dict[str, Callable[[actors.Supervisor], Any]] = {
    "create_task": lambda s: s.create_task("ADD"),
    "create_tasks": lambda s: s.create_tasks([{"name": "ADD"}]),
    "create_tasks_empty": lambda s: s.create_tasks([]),
    "get_task": lambda s: s.get_task("x"),
    "get_tasks": lambda s: s.get_tasks(),
    "get_tasks_by_name": lambda s: s.get_tasks_by_name("ADD"),
    "logs": lambda s: s.logs("x"),
    "stats": lambda s: s.stats(),
    "update_task": lambda s: s.update_task("x", priority="high"),
    "delete_task": lambda s: s.delete_task("x"),
    "pause_task": lambda s: s.pause_task("x"),
    "resume_task": lambda s: s.resume_task("x"),
    "cancel_task": lambda s: s.cancel_task("x"),
    "wait": lambda s: s.wait("x", timeout=5),
    "join": lambda s: s.join(timeout=5),
    "tick": lambda s: s.tick(),
    "worker_pids": lambda s: s.worker_pids(),
    "register_task_worker": lambda s: s.register_task_worker(TaskWorker("ADD", add)),
    "get_task_worker": lambda s: s.get_task_worker("ADD"),
    "schedule": lambda s: s.schedule("ADD", every=60),
    "get_schedules": lambda s: s.get_schedules(),
    "delete_schedule": lambda s: s.delete_schedule("ADD"),
}


@pytest.mark.parametrize("call", sorted(PUBLIC_CALLS))
def test_every_public_call_on_a_stopped_node_raises_node_stopped(call: str) -> None:
    node = inline_supervisor(clock=ManualClock(START))
    node.stop()
    with pytest.raises(actors.NodeStopped):
        PUBLIC_CALLS[call](node)
    node.stop()  # idempotent


def test_a_dead_supervisor_actor_surfaces_as_node_stopped() -> None:
    node = inline_supervisor(clock=ManualClock(START))
    try:
        node.ref.stop()
        for call in ("get_task", "tick", "wait", "join", "register_task_worker", "worker_pids"):
            with pytest.raises(actors.NodeStopped):
                PUBLIC_CALLS[call](node)
    finally:
        node.stop()


def test_node_stopped_is_in_the_error_tree_and_exported() -> None:
    assert issubclass(actors.NodeStopped, actors.ActorsError)
    assert "NodeStopped" in actors.__all__
    assert "NodeStopped" in (actors.errors.__doc__ or "")
