"""Issue 13's inspection and bulk operations on the handle: the memory store, tasks run inline,
time moved by hand (``ManualClock``, no sleeps)."""

from __future__ import annotations

from typing import Any

import pytest

import actors
from actors import ManualClock, Retry, TaskStatus, TaskWorker

START = 1_700_000_000.0
ONCE = Retry(max_attempts=1)


def flaky(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    if not options.get("ok"):
        raise RuntimeError("boom")
    return "done"


def ids(tasks: list[actors.Task]) -> list[str]:
    return [task.id for task in tasks]


def test_idempotency_ttl_frees_the_key_after_it(sup: actors.Supervisor, clock: ManualClock) -> None:
    first = sup.create_task("NOBODY", idempotency_key="order-42", idempotency_ttl=60)
    clock.advance(59)
    assert sup.create_task("NOBODY", idempotency_key="order-42", idempotency_ttl=60) == first
    assert sup.create_tasks([{"name": "NOBODY", "idempotency_key": "order-42"}]) == [first]
    assert len(sup.get_tasks(name="NOBODY")) == 1
    clock.advance(1)
    second = sup.create_task("NOBODY", idempotency_key="order-42")
    assert second != first and len(sup.get_tasks(name="NOBODY")) == 2
    assert sup.create_task("NOBODY", idempotency_key="order-42") == second  # no TTL: forever


@pytest.mark.parametrize(("fields", "field"), [
    ({"idempotency_key": "k", "idempotency_ttl": 0}, "idempotency_ttl"),
    ({"idempotency_key": "k", "idempotency_ttl": -1}, "idempotency_ttl"),
    ({"idempotency_key": "k", "idempotency_ttl": "soon"}, "idempotency_ttl"),
    ({"idempotency_ttl": 10}, "idempotency_ttl"),
])
def test_a_bad_idempotency_ttl_is_named_and_nothing_stored(sup: actors.Supervisor, fields: dict[str, Any],
                                                           field: str) -> None:
    with pytest.raises(actors.ValidationError) as caught:
        sup.create_task("NOBODY", **fields)
    assert caught.value.field == field
    assert sup.get_tasks() == []


def test_children_carry_parent_id_and_get_tasks_lists_them(sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> list[str]:
        return [ctx.create_task("CHILD", queue="kids"), ctx.create_task("CHILD")]

    sup.register_task_worker(TaskWorker("PARENT", parent))
    parent_id = sup.create_task("PARENT")
    children = sup.wait(parent_id, timeout=10)
    assert ids(sup.get_tasks(parent_id=parent_id)) == children
    assert [t.parent_id for t in sup.get_tasks(name="CHILD")] == [parent_id, parent_id]
    assert ids(sup.get_tasks(parent_id=parent_id, queue="kids")) == children[:1]
    assert sup.get_task(parent_id).parent_id is None  # type: ignore[union-attr]


def test_get_tasks_pages_and_orders_finished_newest_first(sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("FLAKY", flaky, retry=ONCE))
    made = []
    for _ in range(3):
        made.append(sup.create_task("FLAKY"))
        with pytest.raises(actors.TaskFailed):
            sup.wait(made[-1], timeout=10)
        clock.advance(1)
    pending = [sup.create_task("NOBODY") for _ in range(3)]
    assert ids(sup.get_tasks(status="failed")) == made[::-1]
    assert ids(sup.get_tasks(status=["failed"], offset=1, limit=1)) == [made[1]]
    assert ids(sup.get_tasks(name="NOBODY", offset=1)) == pending[1:]
    assert ids(sup.get_tasks(offset=2, limit=2)) == [made[2], pending[0]]
    with pytest.raises(actors.ValidationError, match="offset=-1"):
        sup.get_tasks(offset=-1)


def test_retry_task_runs_a_failed_task_again_now(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("FLAKY", flaky, retry=ONCE))
    task_id = sup.create_task("FLAKY")
    with pytest.raises(actors.TaskFailed):
        sup.wait(task_id, timeout=10)
    sup.update_task(task_id, metadata={"ok": True})
    retried = sup.retry_task(task_id)
    assert (retried.status, retried.attempts, retried.failure_count) == (TaskStatus.PENDING, 0, 0)
    assert sup.wait(task_id, timeout=10) == "done"
    task = sup.get_task(task_id)
    assert task is not None and (task.status, task.attempts) == (TaskStatus.SUCCEEDED, 1)


def test_retry_task_refuses_other_states_and_unknown_ids(sup: actors.Supervisor) -> None:
    task_id = sup.create_task("NOBODY")
    with pytest.raises(actors.ValidationError, match="status='pending'"):
        sup.retry_task(task_id)
    with pytest.raises(actors.TaskNotFound):
        sup.retry_task("nope")
    with pytest.raises(actors.ValidationError, match="status='pending'"):
        sup.resume_task(task_id)  # (item 5: a resume of a task that is not paused)


def test_bulk_operations_return_counts(sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("FLAKY", flaky, retry=ONCE))
    failed = [sup.create_task("FLAKY", metadata={"ok": False}, tags=["batch"]) for _ in range(3)]
    sup.join(timeout=10)
    waiting = [sup.create_task("FLAKY", delay=60, tags=["batch"]) for _ in range(2)]
    sup.pause_task(waiting[1])
    assert {t.status for t in sup.get_tasks(tags=["batch"])} == {TaskStatus.FAILED, TaskStatus.PENDING,
                                                                 TaskStatus.PAUSED}
    assert sup.cancel_tasks(tags=["batch"]) == 2  # the pending and the paused one; failed ones stay
    assert sup.retry_tasks(tags=["batch"], status="failed") == 3
    sup.join(timeout=10)  # they ran again at once (and failed again: metadata unchanged)
    assert all(sup.get_task(i).attempts == 1 for i in failed)  # type: ignore[union-attr]
    assert sup.retry_tasks(status="cancelled", limit=1) == 1
    assert sup.delete_tasks(tags=["batch"]) == 5
    assert sup.get_tasks() == []
    with pytest.raises(actors.ValidationError, match="colour"):
        sup.delete_tasks(colour="red")
