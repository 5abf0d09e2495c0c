"""The combined transitions ``add_and_claim`` and ``finish_and_claim``, against every store.

Each behaves as ``add`` (or ``finish``) followed by ``claim``, in one transaction:
the claim follows the table's order (not just the new rows), and a refused
write stores nothing and claims nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from actors.clock import from_timestamp
from actors.errors import ValidationError
from actors.models import Task, TaskStatus
from actors.storage.base import ClaimRequest, Finish, TaskStore

T0 = 1_700_000_000.0
LEASE = 30.0
MakeTask = Callable[..., Task]


def request(limit: int, *names: str) -> ClaimRequest:
    return ClaimRequest(names or ("EMAIL",), limit, "node-a", LEASE)


def status_of(store: TaskStore, task_id: str) -> TaskStatus:
    task = store.get(task_id)
    assert task is not None
    return task.status


def test_add_and_claim_stores_the_tasks_and_leases_what_is_due(store: TaskStore, make_task: MakeTask) -> None:
    now_due, later = make_task(), make_task(delay=60.0)
    ids, claims = store.add_and_claim([now_due, later], T0 + 1, request(5))
    assert ids == [now_due.id, later.id]
    assert [c.task.id for c in claims] == [now_due.id]
    claimed = claims[0].task
    assert (claimed.status, claimed.attempts) == (TaskStatus.RUNNING, 1)
    assert store.get(now_due.id) == claimed
    assert status_of(store, later.id) is TaskStatus.PENDING
    assert store.next_lease_expiry() == T0 + 1 + LEASE


def test_add_and_claim_follows_the_tables_order_not_just_the_new_rows(store: TaskStore,
                                                                     make_task: MakeTask) -> None:
    older = make_task(now=T0 - 10)
    urgent = make_task(priority="high", now=T0 - 5)
    store.add([older, urgent])
    new = make_task(now=T0)
    ids, claims = store.add_and_claim([new], T0 + 1, request(2))
    assert ids == [new.id]
    assert [c.task.id for c in claims] == [urgent.id, older.id]
    assert status_of(store, new.id) is TaskStatus.PENDING


def test_add_and_claim_claims_only_the_names_and_limit_asked_for(store: TaskStore, make_task: MakeTask) -> None:
    email, sync = make_task(name="EMAIL"), make_task(name="SYNC")
    ids, claims = store.add_and_claim([email, sync], T0 + 1, request(10, "SYNC"))
    assert ids == [email.id, sync.id] and [c.task.id for c in claims] == [sync.id]
    _, none = store.add_and_claim([make_task()], T0 + 1, request(0))
    assert none == []
    assert status_of(store, email.id) is TaskStatus.PENDING


def test_add_and_claim_returns_the_existing_id_for_a_used_idempotency_key(store: TaskStore,
                                                                         make_task: MakeTask) -> None:
    first = make_task(idempotency_key="k")
    ids, claims = store.add_and_claim([first], T0 + 1, request(1))
    assert ids == [first.id] and [c.task.id for c in claims] == [first.id]
    again = make_task(idempotency_key="k")
    ids_again, claims_again = store.add_and_claim([again], T0 + 2, request(1))
    assert ids_again == [first.id] and claims_again == []
    assert store.get(again.id) is None


def test_a_refused_add_and_claim_stores_nothing_and_claims_nothing(store: TaskStore, make_task: MakeTask) -> None:
    waiting = make_task()
    store.add([waiting])
    bad = make_task(metadata={"x": 1})
    bad = Task(**{**bad.__dict__, "metadata": {"x": object()}})
    with pytest.raises(ValidationError):
        store.add_and_claim([make_task(), bad], T0 + 1, request(5))
    assert status_of(store, waiting.id) is TaskStatus.PENDING
    assert store.counts().get("pending") == 1 and not store.counts().get("running")


def test_finish_and_claim_records_the_ends_and_takes_the_next_work(store: TaskStore, make_task: MakeTask) -> None:
    first, second, third = make_task(now=T0 - 3), make_task(now=T0 - 2), make_task(now=T0 - 1)
    store.add([first, second, third])
    [claim] = store.claim(["EMAIL"], 1, T0, "node-a", LEASE)
    done = Finish(claim.task.id, claim.token, TaskStatus.SUCCEEDED, result=3)
    applied, claims = store.finish_and_claim([done], T0 + 1, request(5))
    assert applied == [first.id]
    assert [c.task.id for c in claims] == [second.id, third.id]
    finished = store.get(first.id)
    assert finished is not None
    assert (finished.status, finished.result, finished.finished_at) == (
        TaskStatus.SUCCEEDED, 3, from_timestamp(T0 + 1))


def test_finish_and_claim_can_take_back_a_retry_that_is_due_at_once(store: TaskStore,
                                                                  make_task: MakeTask) -> None:
    task = make_task()
    store.add([task])
    [claim] = store.claim(["EMAIL"], 1, T0, "node-a", LEASE)
    retry = Finish(task.id, claim.token, TaskStatus.PENDING, run_at=T0 + 1, error="E: once")
    applied, claims = store.finish_and_claim([retry], T0 + 1, request(1))
    assert applied == [task.id]
    assert [(c.task.id, c.task.attempts) for c in claims] == [(task.id, 2)]
    assert claims[0].token != claim.token


def test_finish_and_claim_ignores_stale_tokens_and_works_with_no_finishes(store: TaskStore,
                                                                        make_task: MakeTask) -> None:
    task = make_task()
    store.add([task])
    applied, claims = store.finish_and_claim([Finish("ghost", "t", TaskStatus.SUCCEEDED)], T0, request(1))
    assert applied == [] and [c.task.id for c in claims] == [task.id]
    assert store.finish_and_claim([], T0, request(1)) == ([], [])


def test_a_refused_finish_and_claim_applies_nothing_and_claims_nothing(store: TaskStore,
                                                                     make_task: MakeTask) -> None:
    running, waiting = make_task(now=T0 - 1), make_task()
    store.add([running, waiting])
    [claim] = store.claim(["EMAIL"], 1, T0, "node-a", LEASE)
    with pytest.raises(ValidationError):
        store.finish_and_claim([Finish(claim.task.id, claim.token, TaskStatus.SUCCEEDED, result=object())],
                               T0 + 1, request(5))
    assert status_of(store, running.id) is TaskStatus.RUNNING
    assert status_of(store, waiting.id) is TaskStatus.PENDING


def test_claim_request_keeps_names_sorted_and_distinct() -> None:
    assert ClaimRequest(["b", "a", "b"], 3, "n", 1.0).names == ("a", "b")
