"""Events derived from rows read back from the store (``feed.follow.derive``) and the bus's
deduplication of what the node emitted itself. Pure: rows built by hand, no threads but the bus's."""

from __future__ import annotations

import dataclasses

from actors.feed.bus import EventBus
from actors.feed.event import Event, event_at
from actors.feed.follow import Seen, derive
from actors.models import Task, TaskStatus
from actors.spec import TaskSpec, build_task
from tests.helpers import EventLog

T0 = 1_700_000_000.0


def row(**changes: object) -> Task:
    task = build_task(TaskSpec(name="SYNC", queue="crm"), task_id="t1", now=T0)
    return dataclasses.replace(task, updated_at=event_at(T0 + 5), **changes)  # type: ignore[arg-type]


def kinds(events: list[Event]) -> list[tuple[str, object]]:
    return [(e.kind, e.data.get("attempt")) for e in events]


def test_a_new_row_seen_finished_tells_its_whole_life() -> None:
    events = derive(row(status=TaskStatus.SUCCEEDED, attempts=1, result={"n": 1}), None, origin=T0)
    assert kinds(events) == [("created", None), ("started", 1), ("succeeded", 1)]
    assert events[-1].data == {"attempt": 1, "result": {"n": 1}, "source": "store"}
    assert {(e.name, e.queue) for e in events} == {("SYNC", "crm")}


def test_an_old_row_seen_first_tells_only_what_is_new() -> None:
    assert kinds(derive(row(status=TaskStatus.RUNNING, attempts=3), None, origin=T0 + 60)) == [("started", 3)]
    assert kinds(derive(row(status=TaskStatus.FAILED, attempts=3, error="x"), None, origin=T0 + 60)) == \
        [("failed", 3)]


def test_attempts_past_the_known_one_are_retries_then_starts() -> None:
    before = Seen(TaskStatus.RUNNING, 1, None, T0 + 1)
    assert kinds(derive(row(status=TaskStatus.RUNNING, attempts=2), before, T0)) == [("retrying", 1), ("started", 2)]
    pending = row(status=TaskStatus.PENDING, attempts=1, error="boom")
    assert kinds(derive(pending, before, T0)) == [("retrying", 1)]


def test_state_changes_in_place() -> None:
    assert kinds(derive(row(status=TaskStatus.PENDING), Seen(TaskStatus.PAUSED, 0, None, T0), T0)) == \
        [("resumed", 0)]
    retried = derive(row(status=TaskStatus.PENDING), Seen(TaskStatus.FAILED, 2, None, T0), T0)
    assert [(e.kind, e.data.get("manual")) for e in retried] == [("retrying", True)]
    same = row(status=TaskStatus.RUNNING, attempts=1, progress=40.0)
    assert kinds(derive(same, Seen(TaskStatus.RUNNING, 1, 10.0, T0), T0)) == [("progress", 1)]
    assert derive(same, Seen(TaskStatus.RUNNING, 1, 40.0, T0 + 5), T0) == []  # nothing changed


def test_while_following_the_second_event_of_a_change_is_dropped() -> None:
    bus, log = EventBus(), EventLog()
    bus.subscribe(log)
    bus.follow()
    at = event_at(T0)
    local = Event("succeeded", "t1", "SYNC", "crm", at, {"attempt": 1, "node_id": "a"})
    read_back = Event("succeeded", "t1", "SYNC", "crm", at, {"attempt": 1, "source": "store"})
    bus.emit([local])
    bus.emit([read_back, Event("metadata", "t1", "SYNC", "crm", at, {"values": {}})])
    bus.emit([Event("metadata", "t1", "SYNC", "crm", at, {"values": {}})])  # metadata: never deduplicated
    log.wait_for(lambda events: len(events) == 3)
    assert [e.kind for e in log.events] == ["succeeded", "metadata", "metadata"]
    assert log.events[0].data["node_id"] == "a"
    assert bus.stats()["deduplicated"] == 1
    bus.close()
