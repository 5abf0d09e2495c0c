"""The supervisor on the memory store, tasks run inline, time moved by hand (no sleeps)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pykka
import pytest

import actors
from actors import ManualClock, Retry, TaskStatus, TaskWorker
from actors.storage.memory import MemoryStore
from actors.testing import inline_supervisor

START = 1_700_000_000.0


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["a"]) + int(options["b"])


def boom(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
    raise RuntimeError(f"boom {ctx.attempt}")


def test_create_run_and_wait_returns_the_result(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("ADD", add))
    task_id = sup.create_task("ADD", metadata={"a": 2, "b": 3}, tags=["math"])
    assert sup.wait(task_id, timeout=10) == 5
    task = sup.get_task(task_id)
    assert task is not None
    assert (task.status, task.result, task.attempts) == (TaskStatus.SUCCEEDED, 5, 1)


def test_bad_input_stores_nothing(sup: actors.Supervisor) -> None:
    with pytest.raises(actors.ValidationError, match="priority='urgent'"):
        sup.create_task("ADD", priority="urgent")
    with pytest.raises(actors.ValidationError, match=r"specs\[1\]"):
        sup.create_tasks([{"name": "ADD"}, {"name": "ADD", "bogus": 1}])
    assert sup.get_tasks() == []


def test_unknown_ids(sup: actors.Supervisor) -> None:
    assert sup.get_task("nope") is None
    assert sup.delete_task("nope") is False
    with pytest.raises(actors.TaskNotFound):
        sup.update_task("nope", description="x")
    with pytest.raises(actors.TaskNotFound):
        sup.wait("nope", timeout=5)


def test_validate_rejects_at_create_time(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("V", add, validate=lambda ctx, options: "a" in options))
    with pytest.raises(actors.ValidationError, match=r"rejected by V\.validate"):
        sup.create_task("V", metadata={"b": 1})
    assert sup.get_tasks(name="V") == []
    assert sup.create_task("V", metadata={"a": 1, "b": 1})


def test_delayed_task_waits_for_its_time(sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("ADD", add))
    task_id = sup.create_task("ADD", metadata={"a": 1, "b": 1}, delay=60)
    sup.tick()
    sup.join(timeout=10)
    assert sup.get_task(task_id).status is TaskStatus.PENDING  # type: ignore[union-attr]
    clock.advance(60)
    sup.tick()
    assert sup.wait(task_id, timeout=10) == 2


def test_retry_waits_in_the_store_then_succeeds(sup: actors.Supervisor, clock: ManualClock) -> None:
    def flaky(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        if ctx.attempt < 3:
            raise ConnectionError("down")
        return "up"

    sup.register_task_worker(TaskWorker("FLAKY", flaky, retry=Retry(max_attempts=3, min_delay=10,
                                                                       jitter=False)))
    task_id = sup.create_task("FLAKY")
    sup.join(timeout=10)
    task = sup.get_task(task_id)
    assert task is not None
    assert (task.status, task.attempts, task.error) == (TaskStatus.PENDING, 1, "ConnectionError: down")
    clock.advance(10)
    sup.tick()
    sup.join(timeout=10)
    clock.advance(20)
    sup.tick()
    assert sup.wait(task_id, timeout=10) == "up"
    assert sup.get_task(task_id).attempts == 3  # type: ignore[union-attr]


def test_exhausted_retries_raise_task_failed(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("BOOM", boom))
    task_id = sup.create_task("BOOM")
    with pytest.raises(actors.TaskFailed, match="boom 1") as info:
        sup.wait(task_id, timeout=10)
    assert info.value.attempts == 1


def test_priority_order_with_one_worker(sup: actors.Supervisor) -> None:
    order: list[str] = []

    def record(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
        order.append(options["label"])

    labels = [("low", "l1"), ("normal", "n1"), ("high", "h1"), ("low", "l2"), ("high", "h2"),
              ("normal", "n2")]
    sup.create_tasks([{"name": "REC", "priority": p, "metadata": {"label": lab}} for p, lab in labels])
    sup.register_task_worker(TaskWorker("REC", record))
    sup.join(timeout=10)
    assert order == ["h1", "h2", "n1", "n2", "l1", "l2"]


def test_recurring_task_runs_each_interval_and_delete_stops_it(
        sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("BEAT", lambda ctx, options, task: task.attempts))
    task_id = sup.create_task("BEAT", update_interval=30)
    for run in (1, 2, 3):
        clock.advance(30)
        sup.tick()
        sup.join(timeout=10)
        task = sup.get_task(task_id)
        assert task is not None
        assert (task.status, task.attempts, task.result) == (TaskStatus.PENDING, run, run)
    assert sup.delete_task(task_id) is True
    clock.advance(30)
    sup.tick()
    sup.join(timeout=10)
    assert sup.get_task(task_id) is None


def test_recurring_failures_back_off_and_auto_pause(sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("BOOM", boom))
    task_id = sup.create_task("BOOM", update_interval=1, max_failures=3)
    for failures, gap in enumerate([1, 2, 4], start=1):
        clock.advance(gap - 0.5)
        sup.tick()  # not due yet: the back-off doubles the interval after each failure
        sup.join(timeout=10)
        assert sup.get_task(task_id).failure_count == failures - 1  # type: ignore[union-attr]
        clock.advance(0.5)
        sup.tick()
        sup.join(timeout=10)
        assert sup.get_task(task_id).failure_count == failures  # type: ignore[union-attr]
    task = sup.get_task(task_id)
    assert task is not None
    assert (task.status, task.failure_count) == (TaskStatus.PAUSED, 3)
    clock.advance(3600)
    sup.tick()
    sup.join(timeout=10)
    assert sup.get_task(task_id).attempts == 3  # type: ignore[union-attr]
    resumed = sup.resume_task(task_id)
    assert (resumed.status, resumed.failure_count) == (TaskStatus.PENDING, 0)


def test_pause_resume_and_cancel(sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("ADD", add))
    task_id = sup.create_task("ADD", metadata={"a": 1, "b": 2}, delay=5)
    assert sup.pause_task(task_id).status is TaskStatus.PAUSED
    clock.advance(10)
    sup.tick()
    sup.join(timeout=10)
    assert sup.get_task(task_id).status is TaskStatus.PAUSED  # type: ignore[union-attr]
    sup.resume_task(task_id)
    assert sup.wait(task_id, timeout=10) == 3
    other = sup.create_task("ADD", metadata={"a": 1, "b": 2}, delay=5)
    assert sup.cancel_task(other).status is TaskStatus.CANCELLED
    with pytest.raises(actors.TaskCancelled):
        sup.wait(other, timeout=10)


def test_update_replaces_metadata_and_validates(sup: actors.Supervisor) -> None:
    task_id = sup.create_task("NOBODY", metadata={"a": 1, "keep": True}, description="old")
    updated = sup.update_task(task_id, metadata={"b": 2}, description="new", priority="high")
    assert (updated.metadata, updated.description, updated.priority) == ({"b": 2}, "new", "high")
    with pytest.raises(actors.ValidationError, match="update_interval=0"):
        sup.update_task(task_id, update_interval=0)
    with pytest.raises(actors.ValidationError, match="status"):
        sup.update_task(task_id, status="succeeded")
    assert sup.get_task(task_id).description == "new"  # type: ignore[union-attr]


def test_queries_filter_by_tags_room_and_status(sup: actors.Supervisor) -> None:
    a = sup.create_task("Q", tags=["sync", "crm"], room_id="r1")
    b = sup.create_task("Q", tags=["sync"], room_id="r2")
    assert [t.id for t in sup.get_tasks(tags=["sync"])] == [a, b]
    assert [t.id for t in sup.get_tasks(tags=["sync", "crm"])] == [a]
    assert [t.id for t in sup.get_tasks(room_id="r2")] == [b]
    assert [t.id for t in sup.get_tasks_by_name("Q")] == [a, b]
    assert sup.get_tasks(status="succeeded") == []
    with pytest.raises(actors.ValidationError, match="status='done'"):
        sup.get_tasks(status="done")


def test_context_progress_metadata_logs_and_chained_tasks(sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        ctx.progress(50)
        ctx.set_metadata(step="half")
        ctx.log.info("working on %s", task.name)
        return ctx.create_task("CHILD", metadata={"from": task.id})  # type: ignore[no-any-return]

    sup.register_task_worker(TaskWorker("PARENT", parent))
    sup.register_task_worker(TaskWorker("CHILD", lambda ctx, options, task: options["from"]))
    parent_id = sup.create_task("PARENT", metadata={"original": 1})
    child_id = sup.wait(parent_id, timeout=10)
    assert sup.wait(child_id, timeout=10) == parent_id
    task = sup.get_task(parent_id)
    assert task is not None
    assert task.progress == 50
    assert task.metadata == {"original": 1, "step": "half"}
    assert [(r.level, r.message) for r in sup.logs(parent_id)] == [("INFO", "working on PARENT")]


def test_non_json_result_fails_the_attempt(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("BAD", lambda ctx, options, task: {1, 2}))
    task_id = sup.create_task("BAD")
    with pytest.raises(actors.TaskFailed, match="JSON"):
        sup.wait(task_id, timeout=10)


def test_orphans_wait_are_counted_and_warned_once(
        sup: actors.Supervisor, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    task_id = sup.create_task("NOBODY_SERVES_THIS")
    clock.advance(120)
    with caplog.at_level(logging.WARNING, logger="actors"):
        sup.tick()
        clock.advance(60)
        sup.tick()
    warnings = [r for r in caplog.records if "NOBODY_SERVES_THIS" in r.getMessage()]
    assert len(warnings) == 1
    stats = sup.stats()
    assert stats["orphaned"] == 1
    assert sup.get_task(task_id).status is TaskStatus.PENDING  # type: ignore[union-attr]


def test_idempotency_key_returns_the_existing_task(sup: actors.Supervisor) -> None:
    first = sup.create_task("X", idempotency_key="order-42")
    assert sup.create_task("X", idempotency_key="order-42") == first
    assert len(sup.get_tasks(name="X")) == 1


def test_wait_times_out(sup: actors.Supervisor) -> None:
    task_id = sup.create_task("NOBODY")
    with pytest.raises(actors.Timeout):
        sup.wait(task_id, timeout=0.05)


def test_run_at_in_the_past_runs_now(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("ADD", add))
    past = datetime.fromtimestamp(START, tz=timezone.utc) - timedelta(days=1)
    assert sup.wait(sup.create_task("ADD", metadata={"a": 0, "b": 0}, run_at=past), timeout=10) == 0


def test_stats_counts_by_status(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("ADD", add))
    sup.wait(sup.create_task("ADD", metadata={"a": 0, "b": 1}), timeout=10)
    sup.create_task("ADD", metadata={"a": 0, "b": 1}, delay=100)
    counts = sup.stats()["tasks"]
    assert counts["succeeded"] == 1
    assert counts["pending"] == 1


def test_finished_tasks_are_pruned_after_the_retention(clock: ManualClock) -> None:
    node = inline_supervisor(clock=clock, retention=60.0)
    try:
        node.register_task_worker(TaskWorker("ADD", add))
        done = node.create_task("ADD", metadata={"a": 1, "b": 1})
        node.wait(done, timeout=10)
        waiting = node.create_task("ADD", metadata={"a": 1, "b": 1}, delay=10_000)
        node.tick()  # the first maintenance prunes nothing: the task finished just now
        assert node.get_task(done) is not None
        clock.advance(3601)
        node.tick()
        assert node.get_task(done) is None
        assert node.get_task(waiting) is not None  # unfinished tasks are never pruned
    finally:
        node.stop()


def test_bad_settings_are_named() -> None:
    with pytest.raises(actors.ValidationError, match="workers=-1"):
        actors.Supervisor.start("memory://", workers=-1)
    with pytest.raises(actors.ValidationError, match="lease_ttl=0"):
        actors.Supervisor.start("memory://", workers=0, lease_ttl=0)
    with pytest.raises(actors.ValidationError, match="synchronous='SOMETIMES'"):
        actors.Supervisor.start("memory://", workers=0, synchronous="SOMETIMES")
    # the pool's options are checked before any worker starts (they used to fail inside it)
    with pytest.raises(actors.ValidationError, match="max_tasks_per_child=0"):
        actors.Supervisor.start("memory://", workers=1, max_tasks_per_child=0)
    with pytest.raises(actors.ValidationError, match="rss_limit_mb=-5"):
        actors.Supervisor.start("memory://", workers=1, rss_limit_mb=-5)
    with pytest.raises(actors.ValidationError, match="kill_grace=-1"):
        actors.Supervisor.start("memory://", workers=1, kill_grace=-1)
    assert pykka.ActorRegistry.get_all() == []


def test_a_worker_that_cannot_start_its_child_fails_the_start_and_leaves_nothing_running(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from actors.execution.process import ChildStartError, executor

    def fail(**_: Any) -> Any:
        raise ChildStartError("no more processes (test)")

    monkeypatch.setattr(executor, "start_child", fail)
    with pytest.raises(ChildStartError, match="could not start its execution slot"):
        actors.Supervisor.start("memory://", workers=1, thread_workers=0)
    assert pykka.ActorRegistry.get_all() == []



class FlakyStore(MemoryStore):
    """A memory store whose ``finish`` fails while ``down`` is set (a database blip)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refused = threading.Event()

    def finish(self, finishes: Any, now: float) -> list[str]:
        if self.down:
            self.refused.set()
            raise actors.StoreError("server closed the connection unexpectedly")
        return super().finish(finishes, now)


def test_an_attempt_end_the_store_refused_is_kept_and_recorded_when_it_is_back(clock: ManualClock) -> None:
    store = FlakyStore()
    node = inline_supervisor(store, clock=clock, lease_ttl=30.0)
    try:
        node.register_task_worker(TaskWorker("ADD", add))
        store.down = True
        task_id = node.create_task("ADD", metadata={"a": 1, "b": 2})
        assert store.refused.wait(10)
        task = node.get_task(task_id)
        assert task is not None and task.status is TaskStatus.RUNNING  # ran, but its end is not stored
        clock.advance(5)
        node.tick()
        task = node.get_task(task_id)
        assert task is not None and task.status is TaskStatus.RUNNING  # still down: kept, not lost
        store.down = False
        clock.advance(5)
        node.tick()
        assert node.wait(task_id, timeout=10) == 3
        task = node.get_task(task_id)
        assert task is not None and (task.attempts, task.crash_count) == (1, 0)
    finally:
        node.stop()


def test_a_backlog_drains_without_ticks_while_creates_arrive_with_every_slot_full(
        sup: actors.Supervisor) -> None:
    """Claims resume as slots free up, not on the next scheduler tick (there is none here)."""
    gate = threading.Event()

    def held(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
        assert gate.wait(30)
        return int(options["i"])

    sup.register_task_worker(TaskWorker("HELD", held))
    total = 100
    ids = [sup.create_task("HELD", metadata={"i": i}) for i in range(total)]
    stats = sup.stats()
    assert 0 < stats["held"] < total  # every slot full; the last creates found no room
    assert stats["tasks"]["pending"] == total - stats["held"]
    gate.set()
    sup.join(timeout=30)
    assert sup.stats()["tasks"]["succeeded"] == total
    assert sup.wait(ids[-1], timeout=10) == total - 1


def test_work_created_while_every_worker_is_busy_is_claimed_together(clock: ManualClock) -> None:
    """One worker, busy: the tasks created meanwhile wait in the store and are claimed in one
    claim when it frees, not one claim (and one dispatch, one finish) per create."""
    sizes: list[int] = []

    class Recording(MemoryStore):
        def claim(self, *args: Any, **kwargs: Any) -> list[actors.models.Claim]:
            claims = super().claim(*args, **kwargs)
            sizes.append(len(claims))
            return claims

    gate = threading.Event()

    def held(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
        assert gate.wait(30)
        return int(options["i"])

    node = inline_supervisor(Recording(), clock=clock, workers=1)
    try:
        node.register_task_worker(TaskWorker("HELD", held))
        ids = [node.create_task("HELD", metadata={"i": 0})]
        node.tick()  # claimed: the only worker is busy with it
        ids += [node.create_task("HELD", metadata={"i": i}) for i in range(1, 6)]
        stats = node.stats()
        assert (stats["held"], stats["tasks"]["pending"]) == (1, 5)
        gate.set()
        node.join(timeout=30)
        assert [node.wait(task_id, timeout=10) for task_id in ids] == list(range(6))
        assert [size for size in sizes if size] == [1, 5]
    finally:
        node.stop()
