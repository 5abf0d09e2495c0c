"""TaskDrain, AffinityDrains and BatchQueue.start on an inline node with a manual clock."""

from __future__ import annotations

from typing import Any

import pytest

import actors
from actors import AffinityDrains, BatchQueue, ManualClock, TaskDrain, TaskStatus

START = 1_700_000_000.0


def run_for(sup: actors.Supervisor, clock: ManualClock, seconds: float) -> None:
    clock.advance(seconds)
    sup.tick()
    sup.join(timeout=10)


def test_drain_row_is_created_once_and_found_again(sup: actors.Supervisor) -> None:
    drain = TaskDrain("EMBED_DRAIN", 2.0, on_drain=lambda s: 0)
    task_id = drain.start(sup)
    task = sup.get_task(task_id)  # type: ignore[arg-type]
    assert task is not None
    assert set(task.tags) == {"queue", "repeat"}
    assert (task.max_failures, task.update_interval, task.description) == (-1, 2.0, "Repeat drain: EMBED_DRAIN")
    assert task.metadata["updateInterval"] == 2000
    again = TaskDrain("EMBED_DRAIN", 2.0, on_drain=lambda s: 0)
    assert again.start(sup) == task_id
    assert len(sup.get_tasks(name="EMBED_DRAIN")) == 1


def test_duplicate_rows_are_removed_keeping_the_first(sup: actors.Supervisor) -> None:
    first = TaskDrain("D", 1.0, on_drain=lambda s: 0).start(sup)
    sup.create_task("D", tags=["queue", "repeat"], update_interval=1.0)
    sup.create_task("D", tags=["queue"], update_interval=1.0)  # not a drain row: kept
    assert TaskDrain("D", 1.0, on_drain=lambda s: 0).start(sup) == first
    rows = sup.get_tasks(name="D")
    assert [r.id for r in rows if "repeat" in r.tags] == [first]
    assert len(rows) == 2


def test_on_drain_is_required_when_registering_the_worker(sup: actors.Supervisor) -> None:
    with pytest.raises(actors.ActorsError, match="on_drain is required"):
        TaskDrain("X", 1.0).start(sup)
    with pytest.raises(actors.ValidationError, match="interval=0"):
        TaskDrain("X", 0)


def test_drain_runs_every_interval_and_idles_after_an_empty_drain(
        sup: actors.Supervisor, clock: ManualClock) -> None:
    items = [3, 0, 0]
    calls: list[int] = []

    def on_drain(node: Any) -> int:
        assert node is sup
        calls.append(items[len(calls)] if len(calls) < len(items) else 0)
        return calls[-1]

    task_id = TaskDrain("Q", 1.0, on_drain=on_drain, idle_interval=10.0).start(sup)
    assert task_id is not None
    run_for(sup, clock, 1.0)
    assert calls == [3]
    run_for(sup, clock, 1.0)  # it did work: next run one interval later
    assert calls == [3, 0]
    run_for(sup, clock, 1.0)  # it was idle: the next run waits the idle interval
    assert calls == [3, 0]
    run_for(sup, clock, 9.0)
    assert calls == [3, 0, 0]


def test_update_interval_writes_only_on_change_and_dispose_deletes_the_row(sup: actors.Supervisor) -> None:
    drain = TaskDrain("Q", 1.0, on_drain=lambda s: 0)
    task_id = drain.start(sup)
    assert task_id is not None
    before = sup.get_task(task_id)
    drain.update_interval(sup, 1.0)
    assert sup.get_task(task_id) == before
    drain.update_interval(sup, 5.0)
    after = sup.get_task(task_id)
    assert after is not None and after.update_interval == 5.0 and after.metadata["baseInterval"] == 5000
    drain.dispose(sup)
    assert sup.get_task(task_id) is None and drain.id is None
    drain.dispose(sup)  # never raises
    assert drain.start(sup) is None  # disposed: start is a no-op


def test_a_row_deleted_elsewhere_is_not_recreated(sup: actors.Supervisor) -> None:
    drain = TaskDrain("Q", 1.0, on_drain=lambda s: 0)
    task_id = drain.start(sup)
    assert task_id is not None and sup.delete_task(task_id)
    drain.update_interval(sup, 3.0)
    assert drain.id is None and sup.get_tasks(name="Q") == []


def test_affinity_drains_share_one_worker_and_dispatch_by_key(
        sup: actors.Supervisor, clock: ManualClock) -> None:
    drained: list[str] = []
    drains = AffinityDrains("BATCHER_DRAIN", max_interval=30.0)
    drains.start(sup)
    for key in ("room-a", "room-b", "room-c"):
        drains.add(key, lambda s, key=key: drained.append(key) or 1, interval=5.0)
    rows = sup.get_tasks(name="BATCHER_DRAIN")
    assert sorted(r.metadata["affinity_key"] for r in rows) == ["room-a", "room-b", "room-c"]
    assert {r.description for r in rows} == {f"Drain affinity group: {k}" for k in ("room-a", "room-b", "room-c")}
    run_for(sup, clock, 5.0)
    assert sorted(drained) == ["room-a", "room-b", "room-c"]
    # the seeds' spelling of the key is accepted too
    sup.create_task("BATCHER_DRAIN", metadata={"affinityKey": "room-b"})
    sup.join(timeout=10)
    assert drained.count("room-b") == 2
    drains.dispose()


def test_removing_the_last_user_of_a_key_disposes_its_row(sup: actors.Supervisor) -> None:
    drains = AffinityDrains("BATCHER_DRAIN")
    drains.start(sup)
    drains.add("k", lambda s: 0, interval=10.0)
    drains.add("k", lambda s: 0, interval=4.0)  # a second user with a shorter cycle
    (row,) = sup.get_tasks(name="BATCHER_DRAIN")
    assert row.update_interval == 4.0
    drains.remove("k")
    assert len(sup.get_tasks(name="BATCHER_DRAIN")) == 1
    drains.remove("k")
    assert sup.get_tasks(name="BATCHER_DRAIN") == [] and drains.keys() == []


def test_the_dispatcher_cannot_be_replaced_silently(sup: actors.Supervisor) -> None:
    drains = AffinityDrains("BATCHER_DRAIN")
    drains.start(sup)
    with pytest.raises(actors.ValidationError, match="registered exclusively"):
        sup.register_task_worker(actors.TaskWorker("BATCHER_DRAIN", lambda ctx, o, t: None))
    dispatcher = sup.get_task_worker("BATCHER_DRAIN")
    assert dispatcher is not None and dispatcher.isolation == "thread"
    drains.dispose()


def test_batch_queue_started_on_a_supervisor_drains_on_its_interval(
        sup: actors.Supervisor, clock: ManualClock) -> None:
    processed: list[str] = []
    queue: BatchQueue[str] = BatchQueue("EMBEDDING_DRAIN", processed.append, batch_size=2,
                                        drain_interval=0.1, get_priority=lambda item: (item[0] == "!" and "high")
                                        or "normal")
    queue.start(sup)
    for item in ("a", "b", "c", "!x"):
        queue.enqueue(item)
    run_for(sup, clock, 0.1)
    assert processed == ["!x", "a"]
    (row,) = sup.get_tasks(name="EMBEDDING_DRAIN")
    assert row.status is TaskStatus.PENDING and row.max_failures == -1
    queue.enqueue("!y")
    handed_back = queue.dispose()
    assert processed == ["!x", "a", "!y"]  # high priority flushed on dispose
    assert handed_back == ["b", "c"]  # normal and low are handed back, never dropped
    assert sup.get_tasks(name="EMBEDDING_DRAIN") == []
    with pytest.raises(actors.ActorsError, match="disposed"):
        queue.start(sup)


def test_a_drain_actor_that_died_is_restarted_and_its_key_keeps_draining(
        sup: actors.Supervisor, clock: ManualClock) -> None:
    drained: list[str] = []
    drains = AffinityDrains("BATCHER_DRAIN", max_interval=30.0)
    drains.start(sup)
    drains.add("room-a", lambda s: drained.append("room-a") or 1, interval=5.0)
    drains._groups["room-a"].ref.stop()  # the key's actor dies
    run_for(sup, clock, 5.0)
    assert drained == ["room-a"]
    assert drains.runs == {"room-a": 1}
    drains.dispose()


# --- a drain is a task like any other: the lifecycle (issue 14 point 8) -------------------------


def test_a_drain_rows_hooks_and_the_global_hooks_run_on_every_drain(
        sup: actors.Supervisor, clock: ManualClock) -> None:
    seen: list[str] = []
    sup.on("success", lambda ctx, options, result: seen.append(f"global success {ctx.task.name} {result}"))

    def timing(ctx: Any, options: Any, call_next: Any) -> Any:
        seen.append("middleware in")
        return call_next()

    drain = TaskDrain("Q", 1.0, on_drain=lambda s: seen.append("drain") or 3, idle_interval=10.0, worker_options={
        "on_start": lambda ctx, options: seen.append(f"start {ctx.task.id == drain.id}"),
        "on_success": lambda ctx, options, result: seen.append(f"success {result}"),
        "middleware": [timing], "title": "The Q drain"})
    drain.start(sup)
    run_for(sup, clock, 1.0)
    assert seen == ["start True", "middleware in", "drain", "success {'nextInterval': 1000.0}",
                    "global success Q {'nextInterval': 1000.0}"]
    assert [w["title"] for w in sup.workers() if w["name"] == "Q"] == ["The Q drain"]


def test_a_drain_that_aborts_fails_its_row_for_good_and_on_failure_runs(
        sup: actors.Supervisor, clock: ManualClock) -> None:
    failures: list[str] = []
    sup.on("failure", lambda ctx, options, error: failures.append(f"global {type(error).__name__}"))

    def on_drain(node: Any) -> int:
        raise actors.AbortTask("the source is gone")

    drain = TaskDrain("Q", 1.0, on_drain=on_drain, worker_options={
        "on_failure": lambda ctx, options, error: failures.append(f"own {error}")})
    task_id = drain.start(sup)
    assert task_id is not None
    run_for(sup, clock, 1.0)
    assert failures == ["own the source is gone", "global AbortTask"]
    row = sup.get_task(task_id)
    assert row is not None and row.status is TaskStatus.FAILED


def test_catch_error_decides_a_drain_rows_retry_and_a_drain_with_ctx_uses_a_durable_step(
        sup: actors.Supervisor, clock: ManualClock) -> None:
    fetched: list[int] = []
    runs: list[Any] = []

    def fetch(batch: int) -> list[str]:
        fetched.append(batch)
        return [f"item-{batch}"]

    def on_drain(node: Any, ctx: Any) -> int:
        items = ctx.step("batch-1", fetch, 1)  # a key per unit of work: the row is recurring
        runs.append(items)
        if len(runs) == 1:
            raise ConnectionError("the sink hung up after the fetch")
        return len(items)

    drain = TaskDrain("Q", 1.0, on_drain=on_drain, worker_options={
        "catch_error": lambda ctx, options, error: 5.0 if isinstance(error, ConnectionError) else None})
    task_id = drain.start(sup)
    assert task_id is not None
    run_for(sup, clock, 1.0)
    row = sup.get_task(task_id)
    assert row is not None and row.steps == {"batch-1": ["item-1"]} and row.failure_count == 1
    run_for(sup, clock, 4.0)  # catch_error asked for 5 s, not the recurring back-off of 2 s
    assert len(runs) == 1
    run_for(sup, clock, 1.0)
    assert runs == [["item-1"], ["item-1"]] and fetched == [1]  # the step was replayed, not fetched again


def test_affinity_drains_pass_the_ctx_and_their_worker_options_serve_every_key(
        sup: actors.Supervisor) -> None:
    seen: list[str] = []
    drains = AffinityDrains("BATCHER_DRAIN", worker_options={
        "on_start": lambda ctx, options: seen.append(f"start {options['affinity_key']}"),
        "on_failure": lambda ctx, options, error: seen.append(f"failed {error}")})
    drains.start(sup)
    drains.add("room-a", lambda s, ctx: seen.append(f"drain {ctx.task.metadata['affinity_key']}") or 1, interval=5.0)

    def broken(node: Any) -> int:
        raise ValueError("room-b is broken")

    drains.add("room-b", broken, interval=5.0)
    ok = sup.create_task("BATCHER_DRAIN", metadata={"affinity_key": "room-a"})  # one-time runs, routed
    bad = sup.create_task("BATCHER_DRAIN", metadata={"affinity_key": "room-b"})
    sup.join(timeout=10)
    assert sorted(seen) == ["drain room-a", "failed room-b is broken", "start room-a", "start room-b"]
    assert [sup.get_task(i).status for i in (ok, bad)] == [TaskStatus.SUCCEEDED, TaskStatus.FAILED]  # type: ignore[union-attr]
    drains.dispose()


def test_a_batch_queue_forwards_worker_options_to_its_drain(sup: actors.Supervisor, clock: ManualClock) -> None:
    results: list[Any] = []
    queue: BatchQueue[str] = BatchQueue("EMBEDDING_DRAIN", lambda item: None, batch_size=5, drain_interval=1.0,
                                        worker_options={"on_success": lambda c, o, result: results.append(result)})
    queue.start(sup)
    queue.enqueue("a")
    run_for(sup, clock, 1.0)
    assert results == [{"nextInterval": 1000.0}]
    queue.dispose()


@pytest.mark.parametrize(("options", "match"), [
    ({"bogus": 1}, "worker_options='bogus': is not a TaskWorker field"),
    ({"name": "OTHER"}, "worker_options='name': is set by the drain itself"),
    ({"execute": print}, "worker_options='execute'"),
    ({"isolation": "process"}, "worker_options='isolation'"),
    ({"frequency": 5}, "worker_options='frequency'"),
    ({"on_start": 3}, "on_start=3: must be callable"),
    (["on_start"], "must be a mapping"),
])
def test_bad_worker_options_are_refused_and_nothing_is_registered_or_stored(
        sup: actors.Supervisor, options: Any, match: str) -> None:
    with pytest.raises(actors.ValidationError, match=match):
        TaskDrain("Q", 1.0, on_drain=lambda s: 0, worker_options=options)
    with pytest.raises(actors.ValidationError, match=match):
        AffinityDrains("BATCHER_DRAIN", worker_options=options)
    with pytest.raises(actors.ValidationError, match=match):
        BatchQueue("Q", lambda item: None, batch_size=1, drain_interval=1.0, worker_options=options)
    assert sup.get_task_worker("Q") is None and sup.get_tasks() == []


def test_worker_options_need_a_worker_to_register(sup: actors.Supervisor) -> None:
    hook = {"on_start": lambda ctx, options: None}
    with pytest.raises(actors.ValidationError, match="skip_register_worker"):
        TaskDrain("Q", 1.0, skip_register_worker=True, worker_options=hook)
    with pytest.raises(actors.ValidationError, match="skip_register_worker"):
        BatchQueue("Q", lambda item: None, batch_size=1, drain_interval=1.0, skip_register_worker=True,
                   worker_options=hook)
