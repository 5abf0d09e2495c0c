"""Iterations and durable steps, against every store: ``continue_tasks`` (the next iteration
committed with the end of the attempt), ``save_step`` and logs kept per iteration.

Both writes are fenced by the claim's token, like ``finish``. Times are arguments.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from actors.clock import from_timestamp
from actors.errors import ValidationError
from actors.models import Claim, Task, TaskStatus
from actors.storage.base import Continuation, Finish, LogRecord, TaskStore

T0 = 1_700_000_000.0
LEASE = 30.0
MakeTask = Callable[..., Task]


def claim_new(store: TaskStore, make_task: MakeTask, now: float = T0 + 1, **fields: object) -> Claim:
    """Add one task named ITER and claim it at ``now``."""
    task = make_task(name="ITER", **fields)
    store.add([task])
    claims = store.claim(["ITER"], 1, now, "node-a", LEASE)
    assert [c.task.id for c in claims] == [task.id]
    return claims[0]


def get(store: TaskStore, task_id: str) -> Task:
    task = store.get(task_id)
    assert task is not None
    return task


def test_a_new_task_is_at_iteration_one_with_no_steps(store: TaskStore, make_task: MakeTask) -> None:
    task = make_task(max_iterations=7)
    store.add([task])
    stored = get(store, task.id)
    assert (stored.iteration, stored.max_iterations, stored.steps) == (1, 7, {})


def test_continue_starts_the_next_iteration_with_attempts_reset(store: TaskStore, make_task: MakeTask) -> None:
    claim = claim_new(store, make_task, metadata={"cursor": 0})
    store.set_progress(claim.task.id, claim.token, 40.0, T0 + 2)
    assert store.save_step(claim.task.id, claim.token, "fetch", {"rows": 3}, T0 + 2) is True
    applied = store.continue_tasks([Continuation(claim.task.id, claim.token, T0 + 10, {"cursor": 5})], T0 + 3)
    assert applied == [claim.task.id]
    task = get(store, claim.task.id)
    assert (task.status, task.iteration, task.attempts, task.failure_count, task.crash_count) == (
        TaskStatus.PENDING, 2, 0, 0, 0)
    assert (task.metadata, task.steps, task.run_at, task.finished_at, task.error) == (
        {"cursor": 5}, {}, from_timestamp(T0 + 10), None, None)
    assert store.next_lease_expiry() is None
    assert store.claim(["ITER"], 1, T0 + 9, "node-a", LEASE) == []
    again = store.claim(["ITER"], 1, T0 + 10, "node-b", LEASE)
    assert [(c.task.iteration, c.task.attempts) for c in again] == [(2, 1)]


def test_continue_without_metadata_keeps_the_metadata(store: TaskStore, make_task: MakeTask) -> None:
    claim = claim_new(store, make_task, metadata={"cursor": 1})
    store.merge_metadata(claim.task.id, claim.token, {"seen": 2}, T0 + 2)
    store.continue_tasks([Continuation(claim.task.id, claim.token, T0 + 3)], T0 + 3)
    assert get(store, claim.task.id).metadata == {"cursor": 1, "seen": 2}


def test_iterations_count_up_across_continues(store: TaskStore, make_task: MakeTask) -> None:
    claim = claim_new(store, make_task)
    for n in range(2, 5):
        assert store.continue_tasks([Continuation(claim.task.id, claim.token, T0 + n)], T0 + n) == [claim.task.id]
        claim = store.claim(["ITER"], 1, T0 + n, "node-a", LEASE)[0]
        assert claim.task.iteration == n
    assert get(store, claim.task.id).iteration == 4


def test_continue_is_fenced_by_the_token(store: TaskStore, make_task: MakeTask) -> None:
    claim = claim_new(store, make_task, metadata={"cursor": 0})
    stale = Continuation(claim.task.id, "stale-token", T0 + 5, {"cursor": 99})
    assert store.continue_tasks([stale, Continuation("ghost", "t", T0 + 5)], T0 + 5) == []
    task = get(store, claim.task.id)
    assert (task.status, task.iteration, task.metadata) == (TaskStatus.RUNNING, 1, {"cursor": 0})
    ok = Continuation(claim.task.id, claim.token, T0 + 5)
    assert store.continue_tasks([ok], T0 + 5) == [claim.task.id]
    assert store.continue_tasks([ok], T0 + 6) == []  # the same attempt twice: the second is stale
    assert get(store, claim.task.id).iteration == 2


def test_a_zombie_cannot_continue_after_its_row_was_reclaimed(store: TaskStore, make_task: MakeTask) -> None:
    old = claim_new(store, make_task)
    store.reclaim_expired(T0 + 1 + LEASE, max_crashes=3)
    new = store.claim(["ITER"], 1, T0 + 100, "node-b", LEASE)[0]
    assert store.continue_tasks([Continuation(old.task.id, old.token, T0 + 101)], T0 + 101) == []
    assert get(store, new.task.id).iteration == 1


def test_continue_honours_a_pause_requested_while_running(store: TaskStore, make_task: MakeTask) -> None:
    claim = claim_new(store, make_task)
    store.pause(claim.task.id, T0 + 2)
    store.continue_tasks([Continuation(claim.task.id, claim.token, T0 + 3)], T0 + 3)
    task = get(store, claim.task.id)
    assert (task.status, task.iteration) == (TaskStatus.PAUSED, 2)


def test_continue_refuses_metadata_that_is_not_json_applying_nothing(store: TaskStore,
                                                                     make_task: MakeTask) -> None:
    a = claim_new(store, make_task)
    b = claim_new(store, make_task)
    with pytest.raises(ValidationError):
        store.continue_tasks([Continuation(a.task.id, a.token, T0 + 3),
                              Continuation(b.task.id, b.token, T0 + 3, {"bad": object()})], T0 + 3)
    assert {get(store, c.task.id).status for c in (a, b)} == {TaskStatus.RUNNING}


def test_steps_are_kept_on_the_task_first_value_wins(store: TaskStore, make_task: MakeTask) -> None:
    claim = claim_new(store, make_task)
    assert store.save_step(claim.task.id, claim.token, "a", [1, 2], T0 + 2) is True
    assert store.save_step(claim.task.id, claim.token, "b", None, T0 + 2) is True
    assert store.save_step(claim.task.id, claim.token, "a", "again", T0 + 3) is True
    assert get(store, claim.task.id).steps == {"a": [1, 2], "b": None}


def test_steps_travel_with_the_next_claim_of_the_same_iteration(store: TaskStore, make_task: MakeTask) -> None:
    claim = claim_new(store, make_task)
    store.save_step(claim.task.id, claim.token, "model", {"answer": 42}, T0 + 2)
    store.reclaim_expired(T0 + 1 + LEASE, max_crashes=3)
    again = store.claim(["ITER"], 1, T0 + 100, "node-b", LEASE)[0]
    assert (again.task.steps, again.task.attempts) == ({"model": {"answer": 42}}, 2)


def test_steps_are_fenced_by_the_token(store: TaskStore, make_task: MakeTask) -> None:
    old = claim_new(store, make_task)
    assert store.save_step(old.task.id, "stale-token", "a", 1, T0 + 2) is False
    store.reclaim_expired(T0 + 1 + LEASE, max_crashes=3)
    assert store.save_step(old.task.id, old.token, "a", 1, T0 + 40) is False  # not running any more
    new = store.claim(["ITER"], 1, T0 + 100, "node-b", LEASE)[0]
    assert store.save_step(old.task.id, old.token, "a", 1, T0 + 101) is False  # a zombie attempt
    assert store.save_step("ghost", "t", "a", 1, T0 + 101) is False
    assert get(store, new.task.id).steps == {}


def test_steps_are_cleared_by_a_continue(store: TaskStore, make_task: MakeTask) -> None:
    claim = claim_new(store, make_task)
    store.save_step(claim.task.id, claim.token, "a", 1, T0 + 2)
    store.continue_tasks([Continuation(claim.task.id, claim.token, T0 + 3)], T0 + 3)
    assert get(store, claim.task.id).steps == {}
    again = store.claim(["ITER"], 1, T0 + 3, "node-a", LEASE)[0]
    assert again.task.steps == {}


@pytest.mark.parametrize("clear", [True, False])
def test_a_finish_clears_the_steps_only_when_it_says_so(store: TaskStore, make_task: MakeTask, clear: bool) -> None:
    """A recurring run that ended well clears them (the next run is new work); a retry keeps them."""
    claim = claim_new(store, make_task)
    store.save_step(claim.task.id, claim.token, "a", 1, T0 + 2)
    finish = Finish(claim.task.id, claim.token, TaskStatus.PENDING, run_at=T0 + 10, clear_steps=clear)
    assert store.finish([finish], T0 + 3) == [claim.task.id]
    assert get(store, claim.task.id).steps == ({} if clear else {"a": 1})


@pytest.mark.parametrize("key, value", [("a", object()), ("", 1), (3, 1)])
def test_save_step_refuses_a_bad_key_or_value_storing_nothing(store: TaskStore, make_task: MakeTask,
                                                             key: object, value: object) -> None:
    claim = claim_new(store, make_task)
    with pytest.raises(ValidationError):
        store.save_step(claim.task.id, claim.token, key, value, T0 + 2)  # type: ignore[arg-type]
    assert get(store, claim.task.id).steps == {}


def test_logs_are_kept_and_read_per_iteration(store: TaskStore, make_task: MakeTask) -> None:
    task = make_task()
    store.add([task])
    store.append_logs([LogRecord(task.id, 1, T0 + 1, "INFO", "first", 1),
                       LogRecord(task.id, 2, T0 + 2, "INFO", "retried", 1),
                       LogRecord(task.id, 1, T0 + 3, "INFO", "second", 2)])
    assert [r.message for r in store.logs(task.id)] == ["first", "retried", "second"]
    assert [(r.message, r.attempt) for r in store.logs(task.id, iteration=1)] == [("first", 1), ("retried", 2)]
    assert store.logs(task.id, iteration=2) == [LogRecord(task.id, 1, T0 + 3, "INFO", "second", 2)]
    assert store.logs(task.id, iteration=3) == []
