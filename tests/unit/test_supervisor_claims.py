"""The supervisor claims in the same transition as a create or as attempt ends when it can.

A manual clock, a ``MemoryStore`` that counts its transitions, and a stand-in worker
actor that keeps what it is dispatched: no child process, no sleeps.
"""

from __future__ import annotations

import collections
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pykka
import pytest

from actors import ManualClock, TaskWorker
from actors.clock import from_timestamp
from actors.messages import Attach, CreateTasks, Dispatch, JobDone, RegisterWorker, WorkerEvents
from actors.models import Claim, Succeeded, Task, TaskStatus
from actors.storage.base import ClaimRequest, Finish
from actors.storage.memory import MemoryStore
from actors.supervisor import SupervisorActor, SupervisorConfig

START = 1_700_000_000.0


class _Counting(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: collections.Counter[str] = collections.Counter()

    def add(self, tasks: Sequence[Task]) -> list[str]:
        self.calls["add"] += 1
        return super().add(tasks)

    def claim(self, *args: Any) -> list[Claim]:
        self.calls["claim"] += 1
        return super().claim(*args)

    def finish(self, finishes: Sequence[Finish], now: float) -> list[str]:
        self.calls["finish"] += 1
        return super().finish(finishes, now)

    def add_and_claim(self, tasks: Sequence[Task], now: float,
                      claim: ClaimRequest) -> tuple[list[str], list[Claim]]:
        self.calls["add_and_claim"] += 1
        with self._lock:
            return MemoryStore.add(self, tasks), MemoryStore.claim(
                self, claim.names, claim.limit, now, claim.owner, claim.lease_ttl)

    def finish_and_claim(self, finishes: Sequence[Finish], now: float,
                         claim: ClaimRequest) -> tuple[list[str], list[Claim]]:
        self.calls["finish_and_claim"] += 1
        with self._lock:
            return MemoryStore.finish(self, finishes, now), MemoryStore.claim(
                self, claim.names, claim.limit, now, claim.owner, claim.lease_ttl)


class _Worker(pykka.ThreadingActor):
    """Stands for a worker actor: keeps the jobs it is dispatched."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[Any] = []
        self.changed = threading.Event()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Dispatch):
            self.jobs += [work.job for work in message.items]
        return None


def _noop(ctx: Any, options: dict[str, Any], task: Task) -> None:
    return None


@contextmanager
def _node(store: MemoryStore, clock: ManualClock) -> Iterator[tuple[Any, Any]]:
    """A node with one process worker (pool 1, 4 slots)."""
    config = SupervisorConfig(node_id="node", slots={"process": 4}, pool={"process": 1})
    ref = SupervisorActor.start(store, clock, config)
    worker = _Worker.start()
    try:
        ref.tell(RegisterWorker(TaskWorker("T", _noop)))
        ref.ask(Attach([("process", worker)], None))
        yield ref, worker
    finally:
        ref.stop()
        worker.stop()


def _task(clock: ManualClock, delay: float = 0.0) -> Task:
    return Task(id=str(uuid.uuid4()), name="T", run_at=from_timestamp(clock.now() + delay))


def _jobs(worker: Any) -> list[Any]:
    jobs: list[Any] = worker.proxy().jobs.get()
    return jobs


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def test_a_due_task_created_while_a_worker_is_free_is_stored_and_claimed_in_one_transition(
        clock: ManualClock) -> None:
    store = _Counting()
    with _node(store, clock) as (ref, worker):
        store.calls.clear()
        task = _task(clock)
        assert ref.ask(CreateTasks([task])) == [task.id]
        ref.ask(None)  # anything the create sent itself has run
        assert dict(store.calls) == {"add_and_claim": 1}
        assert [job.task.id for job in _jobs(worker)] == [task.id]
        assert store.counts()["running"] == 1


def test_a_delayed_task_is_only_stored(clock: ManualClock) -> None:
    store = _Counting()
    with _node(store, clock) as (ref, worker):
        store.calls.clear()
        ref.ask(CreateTasks([_task(clock, delay=60.0)]))
        ref.ask(None)
        assert store.calls["add"] == 1 and store.calls["add_and_claim"] == 0
        assert _jobs(worker) == []


def test_work_created_while_the_worker_is_busy_is_claimed_with_the_attempt_end(clock: ManualClock) -> None:
    store = _Counting()
    with _node(store, clock) as (ref, worker):
        first = _task(clock)
        ref.ask(CreateTasks([first]))  # claimed at once: the worker is busy with it
        second, third = _task(clock), _task(clock)
        ref.ask(CreateTasks([second]))
        ref.ask(CreateTasks([third]))
        ref.ask(None)
        assert [job.task.id for job in _jobs(worker)] == [first.id]  # the others wait in the store
        assert store.counts()["pending"] == 2
        store.calls.clear()
        job = _jobs(worker)[0]
        ref.tell(WorkerEvents((JobDone(first.id, job.token, Succeeded(1)),)))
        ref.ask(None)  # the flush it sent itself has run
        ref.ask(None)
        assert store.calls["finish_and_claim"] == 1 and store.calls["finish"] == 0
        assert store.calls["claim"] == 0
        assert [job.task.id for job in _jobs(worker)] == [first.id, second.id, third.id]
        done = store.get(first.id)
        assert done is not None and done.status is TaskStatus.SUCCEEDED
