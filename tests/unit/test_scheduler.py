"""The scheduler thread and the supervisor's answers to its ticks, on a manual clock.

Regression: one node on PostgreSQL, a producer in another process creating tasks one
by one. Each LISTEN notification woke the scheduler, which sent a ``Tick`` per wake-up
whether or not the supervisor had handled the last one, and the supervisor answered
every tick with "tick again now" while a due task waited for a full slot. Ticks piled
up in its inbox by the thousand, the workers' attempt ends waited behind them with
every slot held, and the node ran nothing for tens of seconds (phase B of the peer
benchmark: stalled at 469/10,000 for 30 s).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import actors
from actors import ManualClock, TaskWorker
from actors.clock import from_timestamp
from actors.messages import Attach, RegisterWorker, Tick
from actors.models import Claim, Task
from actors.runtime.scheduler import Scheduler
from actors.runtime.supervisor import SupervisorActor, SupervisorConfig
from actors.storage.memory import MemoryStore
from actors.testing import eventually

START = 1_700_000_000.0


class _Target:
    """Stands for the supervisor: keeps the ticks it is sent and never takes one by itself."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.ticks: list[Tick] = []
        self.looked_at = -1.0  # the clock's time when the scheduler last checked we are alive

    def tell(self, message: Any) -> None:
        assert isinstance(message, Tick)
        with self._lock:
            self.ticks.append(message)

    def is_alive(self) -> bool:
        with self._lock:
            self.looked_at = self._clock.now()
        return True

    def count(self) -> int:
        with self._lock:
            return len(self.ticks)


def _woke_since(target: _Target, when: float, *, ticks: int) -> None:
    """Wait until the scheduler looked at its target at ``when`` or later, or sent a tick more."""
    eventually(lambda: target.looked_at >= when or target.count() > ticks)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def test_a_woken_scheduler_sends_no_tick_until_the_supervisor_took_the_last(clock: ManualClock) -> None:
    target = _Target(clock)
    scheduler = Scheduler(target, clock, poll_interval=0.01).start()
    try:
        eventually(lambda: target.count() == 1)  # the tick at start
        for _ in range(20):  # a notification each, and the poll interval passing
            scheduler.wake_at(clock.now())
            clock.advance(1.0)
            # it woke since (a look at its target) without sending a tick
            _woke_since(target, clock.now(), ticks=1)
            assert target.count() == 1, "a tick was sent while the last one was still in the inbox"
        first = target.ticks[0]
        assert first.scheduled  # the supervisor tells the scheduler it took it
        scheduler.taken()
        eventually(lambda: target.count() == 2)  # the twenty wake-ups folded into one tick
        second = target.ticks[1]
        assert second.now == clock.now()
        clock.advance(1.0)
        _woke_since(target, clock.now(), ticks=2)
        assert target.count() == 2
    finally:
        scheduler.stop()
    assert not scheduler.alive


def test_a_scheduler_whose_supervisor_stopped_with_a_tick_in_flight_exits(clock: ManualClock) -> None:
    class Gone(_Target):
        alive = True

        def is_alive(self) -> bool:
            return self.alive

    target = Gone(clock)
    scheduler = Scheduler(target, clock, poll_interval=0.01).start()
    try:
        eventually(lambda: target.count() == 1)
        target.alive = False
        eventually(lambda: not scheduler.alive)
    finally:
        scheduler.stop()


class _Wakes:
    """Stands for the scheduler: keeps what the supervisor asks it to wake at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.asked: list[float] = []

    def wake_at(self, when: float) -> None:
        with self._lock:
            self.asked.append(when)

    def take(self) -> list[float]:
        with self._lock:
            asked, self.asked = self.asked, []
        return asked


def _noop(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
    return None


class _Racy(MemoryStore):
    """Its first claim misses a due row (one another process committed just after the
    claim's snapshot was taken); it sees no other writer (``data_version`` never moves)."""

    def __init__(self) -> None:
        super().__init__()
        self.missed = False

    def data_version(self) -> int:
        return 0

    def claim(self, names: Collection[str], limit: int, now: float, owner: str,
              lease_ttl: float) -> list[Claim]:
        if not self.missed:
            self.missed = True
            return []
        return super().claim(names, limit, now, owner, lease_ttl)


@contextmanager
def _node(store: MemoryStore, clock: ManualClock) -> Iterator[tuple[Any, _Wakes]]:
    """A supervisor with 2 slots and no worker actor: what it claims stays held."""
    wakes = _Wakes()
    ref = SupervisorActor.start(store, clock, SupervisorConfig(node_id="node", slots={"process": 2}),
                                scheduler=wakes)
    try:
        ref.tell(RegisterWorker(TaskWorker("T", _noop)))
        ref.ask(Attach())
        yield ref, wakes
    finally:
        ref.stop()


def _due(clock: ManualClock, count: int) -> list[Task]:
    return [Task(id=str(uuid.uuid4()), name="T", run_at=from_timestamp(clock.now() - 1)) for _ in range(count)]


def test_with_every_slot_full_a_tick_does_not_ask_for_the_next_at_once(clock: ManualClock) -> None:
    """Work is due but no slot is free: the claim waits for a slot (the pump after an
    attempt end), so the answer to a tick is the next maintenance, not "tick again now"."""
    store = MemoryStore()
    store.add(_due(clock, 5))
    with _node(store, clock) as (ref, wakes):
        ref.ask(Tick(clock.now()))  # the first maintenance
        assert store.counts()["running"] == 2
        for _ in range(3):
            clock.advance(0.1)
            wakes.take()
            ref.ask(Tick(clock.now()))
            asked = wakes.take()
            assert asked and min(asked) > clock.now(), asked
        assert (store.counts()["running"], store.counts()["pending"]) == (2, 3)


def test_work_the_store_reports_due_after_a_short_claim_is_claimed_at_once(clock: ManualClock) -> None:
    """Claimed when ``next_due`` reports it, not on a second tick asked for at once."""
    store = _Racy()
    store.add(_due(clock, 1))
    with _node(store, clock):
        assert store.missed  # the claim on attach came back empty; next_due then found the row
        assert store.counts()["running"] == 1
