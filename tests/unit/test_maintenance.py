"""Schedules, the leader lease, node heartbeats and loop health, with a manual clock.

Two inline nodes share one memory store (the way several machines share one
PostgreSQL database); time moves only when the test moves it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

import actors
from actors import ManualClock, TaskWorker
from actors.clock import from_timestamp, to_timestamp
from actors.runtime.maintenance import (
    ELSEWHERE_LOOK,
    MAX_CATCH_UP,
    ORPHANS_EVERY,
    RETRY_FAILED,
    Maintenance,
    build_schedule,
    fire_times,
)
from actors.storage.base import LEADER, TaskQuery
from actors.storage.memory import MemoryStore
from actors.testing import inline_supervisor

# 2023-11-14 22:13:20 UTC; the next whole minute is 22:14:00
START = 1_700_000_000.0
TTL = 30.0


def report(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    return str(options.get("kind"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def nodes(store: MemoryStore, clock: ManualClock) -> Iterator[list[actors.Supervisor]]:
    started = [inline_supervisor(_Shared(store), clock=clock, lease_ttl=TTL, node_id=f"node-{i}")
               for i in range(2)]
    for node in started:
        node.register_task_worker(TaskWorker("REPORT", report))
        node.tick()
    yield started
    for node in started:
        node.stop()


class _Shared(MemoryStore):
    """One MemoryStore seen by several nodes: closing one node leaves it open for the others."""

    def __init__(self, inner: MemoryStore) -> None:
        self.__dict__ = inner.__dict__

    def close(self) -> None:
        pass


def _all(store: MemoryStore) -> list[actors.Task]:
    return store.query(TaskQuery(name="REPORT"))


def tick_all(nodes: list[actors.Supervisor], clock: ManualClock, to: float) -> None:
    clock.set(to)
    for node in nodes:
        node.tick()


# --- the pure parts -------------------------------------------------------------------------


def test_build_schedule_fires_first_at_the_next_cron_time() -> None:
    built = build_schedule("REPORT", cron="0 * * * *", every=None, key=None,
                           fields={"metadata": {"kind": "hourly"}, "priority": "high"}, now=START)
    assert built.key == "REPORT"
    assert built.next_fire == datetime(2023, 11, 14, 23, 0, tzinfo=timezone.utc)
    assert built.fields["metadata"] == {"kind": "hourly"} and built.fields["priority"] == "high"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"cron": None, "every": None}, "cron"),
    ({"cron": "* * * * *", "every": 5}, "cron"),
    ({"cron": "61 * * * *", "every": None}, "cron"),
    ({"cron": None, "every": 0}, "every"),
    ({"cron": None, "every": 5, "fields": {"delay": 3}}, "delay"),
    ({"cron": None, "every": 5, "fields": {"idempotency_key": "k"}}, "idempotency_key"),
    ({"cron": None, "every": 5, "fields": {"priority": "urgent"}}, "priority"),
    ({"cron": None, "every": 5, "key": ""}, "key"),
])
def test_build_schedule_names_the_bad_field(kwargs: dict[str, Any], field: str) -> None:
    args = {"key": None, "fields": {}, **kwargs}
    with pytest.raises(actors.ValidationError, match=field):
        build_schedule("REPORT", now=START, **args)


def test_fire_times_catch_up_at_most_the_newest_missed_times() -> None:
    every = build_schedule("REPORT", cron=None, every=10, key=None, fields={}, now=START)
    times, after, skipped = fire_times(every, START + 10 + 10 * 25 + 3)
    assert len(times) == MAX_CATCH_UP and skipped == 26 - MAX_CATCH_UP
    assert times[-1] == START + 260 and after == START + 270
    cron = build_schedule("REPORT", cron="*/20 * * * * *", every=None, key=None, fields={}, now=START)
    assert to_timestamp(cron.next_fire or from_timestamp(0)) == START + 20
    times, after, skipped = fire_times(cron, START + 61)
    assert times == [START + 20, START + 40, START + 60] and after == START + 80 and skipped == 0
    assert fire_times(cron, START + 19) == ([], START + 20, 0)


# --- nodes sharing one store ------------------------------------------------------------------


def test_nodes_register_with_a_heartbeat_and_one_is_the_leader(
        nodes: list[actors.Supervisor], store: MemoryStore) -> None:
    assert [node.node_id for node in store.nodes()] == ["node-0", "node-1"]
    stats = [node.stats() for node in nodes]
    assert [s["leader"] for s in stats] == [True, False]
    assert store.lease_holder(LEADER, START) == "node-0"
    assert all(entry["alive"] for entry in stats[1]["nodes"])
    loops = stats[0]["health"]["loops"]
    assert loops["heartbeat"]["ok"] and loops["heartbeat"]["runs"] == 1
    assert loops["schedules"]["runs"] == 1 and stats[1]["health"]["loops"]["schedules"]["runs"] == 0


def test_each_fire_time_makes_one_task_though_both_nodes_tick(
        nodes: list[actors.Supervisor], store: MemoryStore, clock: ManualClock) -> None:
    nodes[1].schedule("REPORT", cron="*/10 * * * * *", metadata={"kind": "ten"})
    for step in range(1, 7):  # START is on a 10 s boundary
        tick_all(nodes, clock, START + 10 * step + 0.5)
    tasks = _all(store)
    assert sorted(to_timestamp(t.run_at) for t in tasks if t.run_at) == [START + 10 * k for k in range(1, 7)]
    assert all(t.metadata == {"kind": "ten"} for t in tasks)
    assert nodes[0].get_schedules()[0].last_fire == from_timestamp(START + 60)


def test_the_leader_lease_passes_when_the_leader_stops_beating(
        nodes: list[actors.Supervisor], store: MemoryStore, clock: ManualClock) -> None:
    nodes[0].schedule("REPORT", every=10)
    tick_all(nodes, clock, START + 10)
    # node-0 goes silent (as if killed): only node-1 ticks from now on
    for now in (START + 20, START + 30, START + 39.9):
        clock.set(now)
        nodes[1].tick()
    assert not nodes[1].stats()["leader"]  # the lease of node-0 runs until START + 30 + ... not yet
    clock.set(START + 45)
    nodes[1].tick()
    assert nodes[1].stats()["leader"]
    fired = sorted(to_timestamp(t.run_at) for t in _all(store) if t.run_at)
    assert fired == [START + 10, START + 20, START + 30, START + 40]  # the missed times fired late, once


def test_deleting_a_schedule_stops_its_firings(
        nodes: list[actors.Supervisor], store: MemoryStore, clock: ManualClock) -> None:
    nodes[0].schedule("REPORT", every=10, key="r")
    tick_all(nodes, clock, START + 10)
    assert nodes[0].delete_schedule("r") and not nodes[0].delete_schedule("r")
    tick_all(nodes, clock, START + 40)
    assert len(_all(store)) == 1


def test_a_failing_loop_is_reported_and_the_others_go_on(
        nodes: list[actors.Supervisor], store: MemoryStore, clock: ManualClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> list[Any]:
        raise actors.StoreError("database went away")

    monkeypatch.setattr(store, "schedules", broken)
    nodes[0].schedule("REPORT", every=10)
    tick_all(nodes, clock, START + 10)
    loops = nodes[0].stats()["health"]["loops"]
    assert loops["schedules"]["ok"] is False and "database went away" in loops["schedules"]["last_error"]
    assert loops["heartbeat"]["ok"] and loops["reclaim"]["ok"]
    monkeypatch.undo()
    tick_all(nodes, clock, START + 20)
    assert nodes[0].stats()["health"]["loops"]["schedules"]["ok"]
    assert len(_all(store)) == 2  # START + 10 fired late, then START + 20


def test_a_graceful_stop_leaves_the_node_table_and_the_lease(
        nodes: list[actors.Supervisor], store: MemoryStore) -> None:
    nodes[0].stop()
    assert [node.node_id for node in store.nodes()] == ["node-1"]
    assert store.lease_holder(LEADER, START) is None


def test_other_processes_writes_make_the_leader_look_at_schedules_once_a_second_not_per_write(
        store: MemoryStore) -> None:
    looks: list[float] = []

    class Counting(MemoryStore):
        def __init__(self, inner: MemoryStore) -> None:
            self.__dict__ = inner.__dict__

        def schedules(self, due_before: float | None = None) -> list[actors.Schedule]:
            looks.append(START if due_before is None else due_before)
            return super().schedules(due_before)

    loops = Maintenance(Counting(store), node_id="n", lease_ttl=TTL, max_crashes=3, retention=3600.0,
                        orphan_grace=60.0, started=START)
    loops.run(START, holding=False, worker_names=[])
    assert loops.leader and looks == [START]
    for step in range(10):  # ten writes by other processes within the same second
        now = START + step / 20
        loops.schedules_changed(elsewhere_at=now)
        loops.run(now, holding=False, worker_names=[])
    assert looks == [START]
    assert loops.next_wake() <= START + ELSEWHERE_LOOK
    loops.run(START + ELSEWHERE_LOOK, holding=False, worker_names=[])
    assert looks == [START, START + ELSEWHERE_LOOK]
    loops.schedules_changed()  # a schedule put on this node: looked at on the very next run
    loops.run(START + ELSEWHERE_LOOK + 0.01, holding=False, worker_names=[])
    assert len(looks) == 3


def test_orphans_are_counted_once_per_interval_not_on_every_maintenance_run(store: MemoryStore) -> None:
    counts: list[float] = []

    class Counting(MemoryStore):
        def __init__(self, inner: MemoryStore) -> None:
            self.__dict__ = inner.__dict__

        def pending_names(self) -> dict[str, int]:
            counts.append(1)
            return super().pending_names()

    loops = Maintenance(Counting(store), node_id="n", lease_ttl=TTL, max_crashes=3, retention=3600.0,
                        orphan_grace=60.0, started=START)
    for step in range(20):  # a maintenance run every 5 s for 100 s
        loops.run(START + 5 * step, holding=False, worker_names=[])
    # none in the 60 s grace, then at 60 s and once every ORPHANS_EVERY after it (90 s)
    assert len(counts) == 1 + int((95 - 60) // ORPHANS_EVERY) == 2


def test_a_failing_loop_is_retried_a_second_later_not_on_every_tick(store: MemoryStore) -> None:
    class Down(MemoryStore):
        def __init__(self, inner: MemoryStore) -> None:
            self.__dict__ = inner.__dict__

        def reclaim_expired(self, now: float, max_crashes: int) -> list[actors.Task]:
            raise actors.StoreError("database unreachable")

        def next_fire(self) -> float | None:
            raise actors.StoreError("database unreachable")

    loops = Maintenance(Down(store), node_id="n", lease_ttl=TTL, max_crashes=3, retention=3600.0,
                        orphan_grace=60.0, started=START)
    loops.run(START, holding=False, worker_names=[])
    health = loops.stats()
    assert not health["reclaim"]["ok"] and not health["schedules"]["ok"]
    assert loops.next_wake() == START + RETRY_FAILED
    loops.run(START + RETRY_FAILED / 2, holding=False, worker_names=[])
    assert loops.stats()["reclaim"]["runs"] == 1
    loops.run(START + RETRY_FAILED, holding=False, worker_names=[])
    assert loops.stats()["reclaim"]["runs"] == 2
