"""The store contract of issue 13's uniqueness and inspection: idempotency keys with a TTL,
``query``'s queue / parent / paging filters and its order, and the ``retry`` transition.
Every test runs against every store (see conftest); times are arguments (nothing sleeps).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from actors.clock import from_timestamp
from actors.errors import TaskNotFound, ValidationError
from actors.models import Task, TaskStatus
from actors.storage.base import Finish, TaskQuery, TaskStore

T0 = 1_700_000_000.0  # conftest's default creation time
MakeTask = Callable[..., Task]


def ids(tasks: list[Task]) -> list[str]:
    return [task.id for task in tasks]


# --- idempotency keys with a TTL ---------------------------------------------------------------


def test_a_key_within_its_ttl_returns_the_first_id_and_stores_nothing(store: TaskStore,
                                                                       make_task: MakeTask) -> None:
    first = make_task(idempotency_key="order-42", idempotency_ttl=60.0)
    assert store.add([first]) == [first.id]
    again = make_task(idempotency_key="order-42", idempotency_ttl=60.0, now=T0 + 59.0)
    assert store.add([again]) == [first.id]
    assert store.get(again.id) is None
    assert store.get(first.id) == first
    assert first.idempotency_expires_at == from_timestamp(T0 + 60.0)


def test_after_its_ttl_the_key_is_free_and_the_new_task_takes_it(store: TaskStore, make_task: MakeTask) -> None:
    first = make_task(idempotency_key="order-42", idempotency_ttl=60.0)
    store.add([first])
    later = make_task(idempotency_key="order-42", idempotency_ttl=60.0, now=T0 + 60.0)
    assert store.add([later]) == [later.id]
    assert store.get(later.id) == later
    old = store.get(first.id)
    assert old is not None and old.idempotency_key is None and old.idempotency_expires_at is None
    # the key now belongs to the new task, for its own TTL
    within = make_task(idempotency_key="order-42", now=T0 + 119.0)
    assert store.add([within]) == [later.id]
    assert store.get(within.id) is None


def test_a_key_without_a_ttl_never_expires(store: TaskStore, make_task: MakeTask) -> None:
    first = make_task(idempotency_key="forever")
    store.add([first])
    assert store.add([make_task(idempotency_key="forever", now=T0 + 10 * 365 * 86400.0)]) == [first.id]


def test_an_expired_key_in_a_batch_is_taken_by_the_first_task_using_it(store: TaskStore,
                                                                        make_task: MakeTask) -> None:
    store.add([make_task(idempotency_key="k", idempotency_ttl=1.0)])
    one = make_task(idempotency_key="k", idempotency_ttl=1.0, now=T0 + 5.0)
    two = make_task(idempotency_key="k", idempotency_ttl=1.0, now=T0 + 5.0)
    other = make_task(now=T0 + 5.0)
    assert store.add([one, two, other]) == [one.id, one.id, other.id]
    assert store.get(two.id) is None


def test_add_and_claim_frees_an_expired_key_too(store: TaskStore, make_task: MakeTask) -> None:
    from actors.storage.base import ClaimRequest

    first = make_task(idempotency_key="k", idempotency_ttl=1.0)
    store.add([first])
    later = make_task(idempotency_key="k", now=T0 + 2.0)
    added, claims = store.add_and_claim([later], T0 + 2.0, ClaimRequest(["EMAIL"], 10, "node-a", 30.0))
    assert added == [later.id]
    assert sorted(c.task.id for c in claims) == sorted([first.id, later.id])


def test_a_refused_batch_leaves_an_expired_key_with_its_holder(store: TaskStore, make_task: MakeTask) -> None:
    first = make_task(idempotency_key="k", idempotency_ttl=1.0)
    store.add([first])
    with pytest.raises(ValidationError):
        store.add([make_task(idempotency_key="k", now=T0 + 2.0), make_task(id=first.id, now=T0 + 2.0)])
    assert store.get(first.id) == first


# --- query: queue, parent, paging and order ------------------------------------------------------


def test_query_filters_by_queue_and_parent(store: TaskStore, make_task: MakeTask) -> None:
    parent = make_task(queue="emails")
    kids = [make_task(parent_id=parent.id, queue="emails"), make_task(parent_id=parent.id)]
    store.add([parent, *kids, make_task(queue="reports")])
    assert ids(store.query(TaskQuery(queue="emails"))) == [parent.id, kids[0].id]
    assert ids(store.query(TaskQuery(parent_id=parent.id))) == ids(kids)
    assert ids(store.query(TaskQuery(parent_id=parent.id, queue="emails"))) == [kids[0].id]
    assert store.get(kids[1].id) == kids[1]  # parent_id is kept


def test_query_pages_with_offset_and_limit(store: TaskStore, make_task: MakeTask) -> None:
    tasks = [make_task(now=T0 + i) for i in range(5)]
    store.add(tasks)
    assert ids(store.query(TaskQuery(offset=1, limit=2))) == ids(tasks[1:3])
    assert ids(store.query(TaskQuery(offset=3))) == ids(tasks[3:])
    assert store.query(TaskQuery(offset=5)) == []


def test_finished_only_queries_come_newest_finished_first(store: TaskStore, make_task: MakeTask) -> None:
    tasks = [make_task() for _ in range(4)]
    store.add(tasks)
    claims = {c.task.id: c for c in store.claim(["EMAIL"], 10, T0 + 1, "node-a", 30.0)}
    # finish in the order 2, 0, 3 (1 stays running): newest finished is 3
    for at, index in enumerate((2, 0, 3)):
        task = tasks[index]
        store.finish([Finish(task.id, claims[task.id].token, TaskStatus.FAILED, error="boom")], T0 + 10 + at)
    failed = store.query(TaskQuery(status=(TaskStatus.FAILED,)))
    assert ids(failed) == [tasks[3].id, tasks[0].id, tasks[2].id]
    assert ids(store.query(TaskQuery(status=(TaskStatus.FAILED,), offset=1, limit=1))) == [tasks[0].id]
    # a status list that is not all finished keeps creation order
    mixed = store.query(TaskQuery(status=(TaskStatus.FAILED, TaskStatus.RUNNING)))
    assert ids(mixed) == ids(tasks)



def test_unfinished_only_queries_come_in_run_order(store: TaskStore, make_task: MakeTask) -> None:
    """Priority first, then the due time, then creation: the order claims take them."""
    late_high = make_task(priority="high", delay=50.0)
    low = make_task(priority="low")
    normal_later = make_task(delay=20.0)
    normal_sooner = make_task(delay=10.0)
    high = make_task(priority="high", delay=50.0)  # created after late_high, due at the same time
    store.add([late_high, low, normal_later, normal_sooner, high])
    pending = store.query(TaskQuery(status=(TaskStatus.PENDING,)))
    assert ids(pending) == [late_high.id, high.id, normal_sooner.id, normal_later.id, low.id]
    assert ids(store.query(TaskQuery(status=(TaskStatus.PENDING, TaskStatus.RUNNING), offset=1, limit=2))) == [
        high.id, normal_sooner.id]
    everything = store.query(TaskQuery())  # no status: creation order
    assert ids(everything) == ids([late_high, low, normal_later, normal_sooner, high])


# --- retry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [TaskStatus.FAILED, TaskStatus.CANCELLED])
def test_retry_takes_a_failed_or_cancelled_task_back_to_pending_now(store: TaskStore, make_task: MakeTask,
                                                                    status: TaskStatus) -> None:
    task = make_task()
    store.add([task])
    claim = store.claim(["EMAIL"], 1, T0 + 1, "node-a", 30.0)[0]
    if status is TaskStatus.FAILED:
        store.finish([Finish(task.id, claim.token, TaskStatus.FAILED, error="boom", failure_count=3,
                             crash_count=1)], T0 + 2)
    else:
        store.cancel(task.id, T0 + 2)
    retried = store.retry(task.id, T0 + 100)
    assert retried.status is TaskStatus.PENDING
    assert (retried.attempts, retried.failure_count, retried.crash_count) == (0, 0, 0)
    assert retried.run_at == from_timestamp(T0 + 100) and retried.finished_at is None
    assert retried.updated_at == from_timestamp(T0 + 100)
    assert store.get(task.id) == retried
    again = store.claim(["EMAIL"], 1, T0 + 100, "node-b", 30.0)
    assert [c.task.id for c in again] == [task.id] and again[0].task.attempts == 1


@pytest.mark.parametrize("status", [TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.SUCCEEDED,
                                    TaskStatus.PAUSED])
def test_retry_refuses_other_states_and_changes_nothing(store: TaskStore, make_task: MakeTask,
                                                         status: TaskStatus) -> None:
    task = make_task()
    store.add([task])
    if status is not TaskStatus.PENDING and status is not TaskStatus.PAUSED:
        claim = store.claim(["EMAIL"], 1, T0 + 1, "node-a", 30.0)[0]
        if status is TaskStatus.SUCCEEDED:
            store.finish([Finish(task.id, claim.token, TaskStatus.SUCCEEDED)], T0 + 2)
    elif status is TaskStatus.PAUSED:
        store.pause(task.id, T0 + 1)
    before = store.get(task.id)
    with pytest.raises(ValidationError) as caught:
        store.retry(task.id, T0 + 100)
    assert caught.value.field == "status" and status.value in str(caught.value)
    assert store.get(task.id) == before


def test_retry_of_an_unknown_task_raises_task_not_found(store: TaskStore) -> None:
    with pytest.raises(TaskNotFound):
        store.retry("nope", T0)
