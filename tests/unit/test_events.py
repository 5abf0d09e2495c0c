"""Events: ``sup.subscribe`` and ``actors.Event`` on an inline node (memory store, manual clock)."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timezone
from typing import Any

import pytest

import actors
from actors import Retry, TaskWorker
from actors.feed.bus import EventBus
from actors.feed.event import KINDS, Event, event_at
from actors.messages import Tick
from actors.storage.memory import MemoryStore
from actors.testing import inline_supervisor
from tests.helpers import EventLog


def reporting(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    ctx.progress(40)
    ctx.set_metadata(stage="half")
    return "done"


def boom(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
    raise RuntimeError(f"boom {ctx.attempt}")


def test_a_task_s_life_arrives_in_order_with_its_data(sup: actors.Supervisor) -> None:
    log = EventLog()
    sup.subscribe(log)
    sup.register_task_worker(TaskWorker("REPORT", reporting, queue="reports"))
    task_id = sup.create_task("REPORT")
    assert sup.wait(task_id, timeout=10) == "done"
    kinds = log.wait_kinds(task_id, "created", "started", "progress", "metadata", "succeeded")
    assert kinds == ["created", "started", "progress", "metadata", "succeeded"]
    by_kind = {e.kind: e for e in log.events}
    assert by_kind["started"].data["attempt"] == 1
    assert by_kind["progress"].data["progress"] == 40
    assert by_kind["metadata"].data["values"] == {"stage": "half"}
    assert by_kind["succeeded"].data["result"] == "done"
    for event in log.events:
        assert (event.task_id, event.name, event.queue) == (task_id, "REPORT", "reports")
        assert event.at.tzinfo is not None and event.at.utcoffset() == timezone.utc.utcoffset(None)
        assert event.data["node_id"] == sup.node_id


class _ClaimedBeforeItsCreateReturns(MemoryStore):
    """``add`` (the caller's thread) has the supervisor claim the new row before it returns:
    a claim of other work that picks it up the moment it is committed."""

    def __init__(self) -> None:
        super().__init__()
        self.sup: actors.Supervisor | None = None
        self.claimed = threading.Event()

    def add(self, tasks: Any) -> list[str]:
        ids = super().add(tasks)
        if self.sup is not None and any(task.name == "RACE" for task in tasks):
            self.sup.ref.tell(Tick(self.sup.clock.now()))  # "another process wrote": it claims
            assert self.claimed.wait(10)
        return ids

    def claim(self, *args: Any, **kwargs: Any) -> list[Any]:
        claims = super().claim(*args, **kwargs)
        if claims:
            self.claimed.set()
        return claims


def test_a_task_claimed_the_moment_its_row_commits_is_still_created_before_started(clock: Any) -> None:
    store = _ClaimedBeforeItsCreateReturns()
    node = inline_supervisor(store, clock=clock)
    try:
        log = EventLog()
        node.subscribe(log)
        node.register_task_worker(TaskWorker("RACE", lambda ctx, options, task: "ok"))
        store.sup = node
        task_id = node.create_task("RACE")
        assert node.wait(task_id, timeout=10) == "ok"
        assert log.wait_kinds(task_id, "created", "started", "succeeded") == ["created", "started", "succeeded"]
    finally:
        node.stop()


def test_an_event_is_frozen_and_json_friendly(clock: actors.ManualClock) -> None:
    event = Event("progress", "t1", "REPORT", "default", event_at(clock.now()), {"progress": 50})
    assert json.loads(event.to_json()) == event.as_dict() == {
        "kind": "progress", "task_id": "t1", "name": "REPORT", "queue": "default",
        "at": event.at.isoformat(), "data": {"progress": 50}}
    with pytest.raises(AttributeError):
        event.kind = "created"  # type: ignore[misc]
    assert actors.Event is Event


def test_retries_then_failure(sup: actors.Supervisor, clock: actors.ManualClock) -> None:
    log = EventLog()
    sup.subscribe(log, events=["started", "retrying", "failed"])
    sup.register_task_worker(TaskWorker("BOOM", boom, retry=Retry(max_attempts=2, min_delay=5, jitter=False)))
    task_id = sup.create_task("BOOM")
    log.wait_kinds(task_id, "retrying")
    clock.advance(5)
    sup.tick()
    with pytest.raises(actors.TaskFailed):
        sup.wait(task_id, timeout=10)
    assert log.wait_kinds(task_id, "failed") == ["started", "retrying", "started", "failed"]
    retrying = next(e for e in log.events if e.kind == "retrying")
    assert retrying.data["error"].endswith("boom 1") and retrying.data["attempt"] == 1
    assert "run_at" in retrying.data
    assert [e.data["attempt"] for e in log.events if e.kind == "started"] == [1, 2]


def twice(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
    if ctx.iteration == 1:
        return actors.Continue(options={"page": 2}, delay=5)
    return {"pages": options["page"]}


def test_a_continue_is_a_continued_event_with_the_next_iteration(sup: actors.Supervisor,
                                                                   clock: actors.ManualClock) -> None:
    log = EventLog()
    sup.subscribe(log, events=["started", "continued", "succeeded"])
    sup.register_task_worker(TaskWorker("PAGES", twice))
    task_id = sup.create_task("PAGES")
    log.wait_kinds(task_id, "continued")
    clock.advance(5)
    sup.tick()
    assert sup.wait(task_id, timeout=10) == {"pages": 2}
    assert log.wait_kinds(task_id, "succeeded") == ["started", "continued", "started", "succeeded"]
    continued = next(e for e in log.events if e.kind == "continued")
    assert continued.data["iteration"] == 2
    assert continued.data["run_at"] == event_at(clock.now()).isoformat()  # due 5 s after the first run


def test_user_changes_are_events(sup: actors.Supervisor) -> None:
    log = EventLog()
    sup.subscribe(log, events=("paused", "resumed", "cancelled", "retrying"))
    task_id = sup.create_task("NOBODY_SERVES_IT")
    sup.pause_task(task_id)
    sup.resume_task(task_id)
    sup.cancel_task(task_id)
    sup.retry_task(task_id)
    assert log.wait_kinds(task_id, "retrying") == ["paused", "resumed", "cancelled", "retrying"]
    assert log.events[-1].data["manual"] is True


def test_kinds_filter_bad_kinds_and_unsubscribe(sup: actors.Supervisor) -> None:
    with pytest.raises(actors.ValidationError, match="events"):
        sup.subscribe(EventLog(), events=["created", "exploded"])
    with pytest.raises(actors.ValidationError, match="fn"):
        sup.subscribe("not callable")  # type: ignore[arg-type]
    only_created, every = EventLog(), EventLog()
    unsubscribe = sup.subscribe(only_created, events="created")
    sup.subscribe(every)
    first = sup.create_task("NOBODY_SERVES_IT")
    every.wait_kinds(first, "created")
    unsubscribe()
    unsubscribe()  # idempotent
    second = sup.create_task("NOBODY_SERVES_IT")
    every.wait_kinds(second, "created")
    assert [(e.kind, e.task_id) for e in only_created.events] == [("created", first)]
    assert set(KINDS) >= set(every.kinds())


def test_a_failing_subscriber_is_counted_logged_once_and_breaks_nothing(
        sup: actors.Supervisor, caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: actors.Event) -> None:
        raise ValueError("subscriber bug")

    good = EventLog()
    sup.subscribe(broken)
    sup.subscribe(good)
    sup.register_task_worker(TaskWorker("REPORT", reporting))
    with caplog.at_level(logging.ERROR, logger="actors"):
        ids = [sup.create_task("REPORT") for _ in range(3)]
        for task_id in ids:
            assert sup.wait(task_id, timeout=10) == "done"
        good.wait_for(lambda events: sum(e.kind == "succeeded" for e in events) == 3)
    events = sup.stats()["events"]
    assert events["errors"] == len(good.events)  # every event the good one got, the broken one raised on
    assert events["subscribers"] == 2
    assert len([r for r in caplog.records if "event subscriber" in r.getMessage()]) == 1


def test_a_stuck_subscriber_never_holds_the_node_and_drops_are_counted(sup: actors.Supervisor) -> None:
    release = threading.Event()
    sup.subscribe(lambda event: release.wait(10))
    sup.register_task_worker(TaskWorker("REPORT", reporting))
    ids = [sup.create_task("REPORT") for _ in range(20)]
    for task_id in ids:  # every task completes while the subscriber is stuck on its first event
        assert sup.wait(task_id, timeout=10) == "done"
    assert sup.stats()["events"]["delivered"] == 0
    release.set()


def test_the_buffer_is_bounded_and_drops_the_oldest() -> None:
    bus = EventBus(capacity=3)
    gate, got = threading.Event(), EventLog()
    bus.subscribe(got)
    bus.subscribe(lambda event: gate.wait(10))  # (after ``got``: it holds the dispatcher once got has one)
    at = event_at(0)
    bus.emit([Event("created", "first", "N", "default", at)])
    got.wait_for(lambda events: len(events) == 1)  # the dispatcher is stuck on "first"; the buffer is empty
    bus.emit([Event("created", f"t{i}", "N", "default", at) for i in range(10)])
    assert bus.stats()["dropped"] == 7
    gate.set()
    got.wait_for(lambda events: len(events) == 4)
    assert [e.task_id for e in got.events] == ["first", "t7", "t8", "t9"]
    bus.close()


def test_the_dispatcher_starts_with_a_subscriber_and_ends_with_the_node(clock: actors.ManualClock) -> None:
    from actors.testing import inline_supervisor

    def threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "actors-events"]

    before = len(threads())
    node = inline_supervisor(clock=clock)
    assert len(threads()) == before  # nobody subscribed: no thread
    node.subscribe(EventLog())
    mine = [t for t in threads()]
    assert len(mine) == before + 1 and all(t.daemon for t in mine)
    node.stop()
    assert len(threads()) == before
    with pytest.raises(actors.NodeStopped):
        node.subscribe(EventLog())


def test_a_schedule_s_firing_is_a_created_event(sup: actors.Supervisor, clock: actors.ManualClock) -> None:
    log = EventLog()
    sup.subscribe(log, events="created")
    sup.schedule("NOBODY_SERVES_IT", every=60)
    sup.tick()
    clock.advance(61)
    sup.tick()
    fired = log.wait_for(lambda events: len(events) >= 1)
    assert [(e.kind, e.name) for e in fired] == [("created", "NOBODY_SERVES_IT")]
    assert [t.id for t in sup.get_tasks(name="NOBODY_SERVES_IT")] == [fired[0].task_id]
