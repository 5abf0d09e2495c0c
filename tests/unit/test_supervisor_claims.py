"""The supervisor claims in the same transition as a create or as attempt ends when it can.

A manual clock, a ``MemoryStore`` that counts its transitions, and a stand-in worker
actor that keeps what it is dispatched: no child process, no sleeps.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pykka
import pytest

from actors import ManualClock, TaskWorker
from actors.clock import from_timestamp
from actors.messages import (
    Attach,
    CreateTasks,
    Dispatch,
    JobDone,
    RegisterWorker,
    Tick,
    WorkerEvents,
)
from actors.models import Claim, Succeeded, Task, TaskStatus
from actors.runtime.children import FixedWorkers, WorkerSlot
from actors.runtime.supervisor import SupervisorActor, SupervisorConfig
from actors.storage.base import ClaimRequest, Finish
from actors.storage.memory import MemoryStore

START = 1_700_000_000.0


class _Counting(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: collections.Counter[str] = collections.Counter()
        self.version = 0  # bumped by a test: "another process wrote"

    def data_version(self) -> int:
        return self.version

    def next_due(self, names: Collection[str]) -> float | None:
        self.calls["next_due"] += 1
        return super().next_due(names)

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

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Dispatch):
            self.jobs += [work.job for work in message.items]
        return None


def _noop(ctx: Any, options: dict[str, Any], task: Task) -> None:
    return None


class _Wakes:
    """Stands for the scheduler: keeps what the supervisor asks it to wake at."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    def wake_at(self, when: float) -> None:
        self.asked.append(when)


@contextmanager
def _node(store: MemoryStore, clock: ManualClock, wakes: _Wakes | None = None) -> Iterator[tuple[Any, Any]]:
    """A node with one process worker (pool 1, 4 slots)."""
    config = SupervisorConfig(node_id="node", slots={"process": 4}, pool={"process": 1})
    worker = _Worker.start()
    ref = SupervisorActor.start(store, clock, config, workers=FixedWorkers([WorkerSlot("process", worker)]),
                                scheduler=wakes)
    try:
        ref.tell(RegisterWorker(TaskWorker("T", _noop)))
        ref.ask(Attach())
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


def test_while_every_worker_is_busy_a_tick_after_a_write_elsewhere_does_not_query_the_next_due_time(
        clock: ManualClock) -> None:
    """A producer in another process wakes the node once per create. While no worker has
    room, the next attempt end claims what is due, so a tick costs the ``data_version``
    read only; the look-up it skipped runs once a worker has room."""
    store, wakes = _Counting(), _Wakes()
    with _node(store, clock, wakes) as (ref, worker):
        running = _task(clock)
        ref.ask(CreateTasks([running]))  # the only worker is busy with it
        store.calls.clear()
        for _ in range(3):
            store.add([_task(clock)])  # "another process" commits due work
            store.version += 1
            clock.advance(0.001)
            ref.ask(Tick(clock.now()))
        assert store.calls["next_due"] == 0
        assert min(wakes.asked[-3:]) > clock.now()  # no "tick again now" either
        job = _jobs(worker)[0]
        ref.tell(WorkerEvents((JobDone(running.id, job.token, Succeeded(1)),)))
        ref.ask(None)
        ref.ask(None)
        assert len(_jobs(worker)) == 4  # the three waiting tasks went with the attempt end
        assert store.calls["next_due"] == 0  # and the worker is busy again
        ref.tell(WorkerEvents(tuple(JobDone(j.task.id, j.token, Succeeded(1)) for j in _jobs(worker)[1:])))
        ref.ask(None)
        ref.ask(None)
        assert store.calls["next_due"] == 1  # looked once the worker had room


def test_with_a_worker_free_a_tick_after_a_write_elsewhere_looks_up_the_next_due_time(
        clock: ManualClock) -> None:
    store, wakes = _Counting(), _Wakes()
    with _node(store, clock, wakes) as (ref, worker):
        store.calls.clear()
        later = _task(clock, delay=5.0)
        store.add([later])  # another process: due in 5 s (before the next maintenance)
        store.version += 1
        ref.ask(Tick(clock.now()))
        assert store.calls["next_due"] == 1
        assert wakes.asked[-1] == later.run_at.timestamp()
        assert _jobs(worker) == []


def test_a_worker_whose_executor_only_queues_gets_its_jobs_from_the_supervisor_directly(
        clock: ManualClock) -> None:
    store = _Counting()
    handed: list[tuple[list[str], list[str]]] = []
    config = SupervisorConfig(node_id="node", slots={"process": 4}, pool={"process": 1})
    class Queues:  # an executor whose submit only queues
        def submit(self, jobs: Any, functions: Any) -> None:
            handed.append(([job.task.id for job in jobs], sorted(functions)))

    worker = _Worker.start()
    ref = SupervisorActor.start(store, clock, config, workers=FixedWorkers([WorkerSlot("process", worker, Queues())]))
    try:
        ref.tell(RegisterWorker(TaskWorker("T", _noop)))
        ref.ask(Attach())
        task = _task(clock)
        ref.ask(CreateTasks([task]))
        assert handed == [([task.id], ["T"])]  # handed over before the create returned
        assert _jobs(worker) == []  # no Dispatch message
    finally:
        ref.stop()
        worker.stop()


def test_a_worker_whose_executor_refuses_work_is_retired_and_its_jobs_go_back_unstarted(
        clock: ManualClock) -> None:
    store = _Counting()
    refused: list[str] = []

    class Refuses:  # an executor that stopped
        def submit(self, jobs: Any, functions: Any) -> None:
            refused.extend(job.task.id for job in jobs)
            raise RuntimeError("the executor is stopped")

    config = SupervisorConfig(node_id="node", slots={"process": 4})
    broken, sound = _Worker.start(), _Worker.start()
    ref = SupervisorActor.start(store, clock, config, workers=FixedWorkers(
        [WorkerSlot("process", broken, Refuses()), WorkerSlot("process", sound)]))
    try:
        ref.tell(RegisterWorker(TaskWorker("T", _noop)))
        ref.ask(Attach())
        first = _task(clock)
        ref.ask(CreateTasks([first]))  # the first (idlest) worker refuses it
        ref.ask(None)  # the pump that claims it again
        assert refused == [first.id]  # tried once: the broken worker gets nothing more
        [job] = _jobs(sound)
        assert (job.task.id, job.attempt) == (first.id, 1)  # given back unstarted, not counted
        second = _task(clock)
        ref.ask(CreateTasks([second]))
        assert [j.task.id for j in _jobs(sound)] == [first.id, second.id] and refused == [first.id]
    finally:
        ref.stop()
        broken.stop()
        sound.stop()
