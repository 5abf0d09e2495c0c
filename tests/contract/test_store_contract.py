"""The ``TaskStore`` contract: every test runs against every store (see conftest).

Times are arguments (``T0`` and offsets); nothing sleeps.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.clock import from_timestamp
from actors.errors import StoreError, TaskNotFound, ValidationError
from actors.models import Claim, Task, TaskStatus
from actors.retry import Retry
from actors.storage.base import Finish, LogRecord, TaskQuery, TaskStore

#: Equal to conftest's default creation time for ``make_task``.
T0 = 1_700_000_000.0
LEASE = 30.0
MakeTask = Callable[..., Task]
_examples = itertools.count()
ALL_STATUSES = tuple(TaskStatus)


# --- helpers ---------------------------------------------------------------------------


class Ops:
    """Short ways to drive one store in tests."""

    def __init__(self, store: TaskStore, make_task: MakeTask) -> None:
        self.store = store
        self.make_task = make_task
        self.names = {"EMAIL"}

    def claim_all(self, names: tuple[str, ...] | None = None, now: float = T0, limit: int = 100,
                  owner: str = "node-a") -> list[Claim]:
        """Claim every due task (by default of every name this helper has used)."""
        return self.store.claim(sorted(self.names) if names is None else names, limit, now, owner, LEASE)

    def claim_one(self, **task_fields: Any) -> Claim:
        """Add one task under a fresh name and claim it at ``T0 + 1``."""
        task_fields.setdefault("name", f"JOB-{len(self.names)}")
        task = self.make_task(**task_fields)
        self.names.add(task.name)
        self.store.add([task])
        claims = self.claim_all((task.name,), now=T0 + 1)
        assert [c.task.id for c in claims] == [task.id]
        return claims[0]

    def reach(self, status: TaskStatus) -> tuple[Task, str | None]:
        """A task moved to ``status`` by the store's own transitions, and its token if running."""
        store = self.store
        if status in (TaskStatus.PENDING, TaskStatus.PAUSED, TaskStatus.CANCELLED):
            task = self.make_task()
            store.add([task])
            if status is TaskStatus.PAUSED:
                store.pause(task.id, T0 + 1)
            elif status is TaskStatus.CANCELLED:
                store.cancel(task.id, T0 + 1)
            return self.get(task.id), None
        claim = self.claim_one()
        if status is TaskStatus.RUNNING:
            return claim.task, claim.token
        error = "ValueError: boom" if status is TaskStatus.FAILED else None
        assert store.finish([Finish(claim.task.id, claim.token, status, error=error)], T0 + 2) == [
            claim.task.id]
        return self.get(claim.task.id), None

    def get(self, task_id: str) -> Task:
        task = self.store.get(task_id)
        assert task is not None, task_id
        return task


@pytest.fixture
def ops(store: TaskStore, make_task: MakeTask) -> Ops:
    return Ops(store, make_task)


def ids(tasks: list[Task]) -> list[str]:
    return [task.id for task in tasks]


# --- add / get ---------------------------------------------------------------------------


def test_add_returns_ids_in_order_and_get_returns_the_task_exactly(store: TaskStore, ops: Ops,
                                                                   make_task: MakeTask) -> None:
    tasks = [
        make_task(id="b", name="SYNC", description="Sync CRM", tags=["sync", "crm"],
                  metadata={"sourceUrl": "https://x", "n": [1, 2], "deep": {"a": None}},
                  room_id="r1", world_id="w1", entity_id="e1", priority="high", queue="q",
                  retry=Retry(max_attempts=4), max_attempts=4, max_failures=3, timeout=9.5,
                  update_interval=60.0, idempotency_key="k-b"),
        make_task(id="a", delay=30.0),
    ]
    assert store.add(tasks) == ["b", "a"]
    for task in tasks:
        got = ops.get(task.id)
        assert got == task
        assert got.run_at is not None and got.run_at.tzinfo == timezone.utc
        assert got.created_at == datetime.fromtimestamp(T0, tz=timezone.utc)


def test_add_keeps_every_field_of_a_task_it_is_given(store: TaskStore, ops: Ops, make_task: MakeTask) -> None:
    task = make_task(status=TaskStatus.PAUSED, attempts=2, failure_count=1, crash_count=1,
                     progress=42.5, result={"ok": [1, "two"]}, error="last error",
                     updated_at=from_timestamp(T0 + 5))
    store.add([task])
    assert ops.get(task.id) == task


def test_a_batch_whose_tasks_set_different_fields_keeps_each_tasks_own(store: TaskStore, ops: Ops,
                                                                        make_task: MakeTask) -> None:
    tasks = [make_task(), make_task(queue="q", tags=["a"]), make_task(room_id="r", timeout=2.5, idempotency_key="k"),
             make_task(status=TaskStatus.SUCCEEDED, finished_at=from_timestamp(T0), result=[1]),
             make_task(progress=0.0, error="", max_attempts=1, parent_id="p", concurrency_key="c", max_iterations=2)]
    assert store.add(tasks) == [task.id for task in tasks]
    assert [ops.get(task.id) for task in tasks] == tasks


def test_add_nothing_returns_an_empty_list(store: TaskStore) -> None:
    assert store.add([]) == []
    assert sum(store.counts().values()) == 0


def test_an_idempotency_key_already_used_returns_the_existing_id(store: TaskStore,
                                                                 make_task: MakeTask) -> None:
    first = make_task(idempotency_key="once")
    assert store.add([first]) == [first.id]
    again, other = make_task(idempotency_key="once"), make_task()
    assert store.add([again, other]) == [first.id, other.id]
    assert store.get(again.id) is None
    assert store.counts()["pending"] == 2


def test_an_idempotency_key_repeated_in_one_batch_stores_the_first_task(store: TaskStore,
                                                                        make_task: MakeTask) -> None:
    one, two = make_task(idempotency_key="k"), make_task(idempotency_key="k")
    assert store.add([one, two]) == [one.id, one.id]
    assert store.get(two.id) is None


def test_add_is_all_or_nothing_when_an_id_exists(store: TaskStore, make_task: MakeTask) -> None:
    existing = make_task()
    store.add([existing])
    fresh = make_task(tags=["t"], idempotency_key="fresh-key")
    with pytest.raises(ValidationError, match=existing.id):
        store.add([fresh, make_task(id=existing.id)])
    assert store.get(fresh.id) is None
    assert store.query(TaskQuery(tags=("t",))) == []
    assert store.add([make_task(idempotency_key="fresh-key", id="later")]) == ["later"]


def test_add_refuses_an_id_twice_in_one_batch(store: TaskStore, make_task: MakeTask) -> None:
    with pytest.raises(ValidationError, match="twice"):
        store.add([make_task(id="x"), make_task(id="x")])
    assert store.get("x") is None


@pytest.mark.parametrize("field, value", [
    ("metadata", {"bad": object()}),
    ("result", {1, 2}),
    ("status", TaskStatus.RUNNING),
    ("run_at", None),
    ("priority", "urgent"),
])
def test_add_refuses_a_bad_task_and_stores_nothing(store: TaskStore, field: str, value: Any,
                                                   make_task: MakeTask) -> None:
    good = make_task()
    with pytest.raises(ValidationError, match=field):
        store.add([good, dataclasses.replace(make_task(), **{field: value})])
    assert store.get(good.id) is None


def test_returned_metadata_is_a_fresh_dict_every_time(store: TaskStore, ops: Ops,
                                                      make_task: MakeTask) -> None:
    metadata = {"list": [1], "nested": {"a": 1}}
    task = make_task(metadata=metadata)
    store.add([task])
    task.metadata["list"].append("caller mutated its own copy")
    first = ops.get(task.id)
    first.metadata["nested"]["a"] = 99
    first.metadata["new"] = True
    assert ops.get(task.id).metadata == {"list": [1], "nested": {"a": 1}}
    assert store.get_many([task.id])[task.id].metadata == {"list": [1], "nested": {"a": 1}}


def test_get_of_an_unknown_id_is_none(store: TaskStore) -> None:
    assert store.get("nope") is None


def test_get_many_returns_the_tasks_that_exist(store: TaskStore, make_task: MakeTask) -> None:
    a, b, c = make_task(), make_task(), make_task()
    store.add([a, b, c])
    assert store.get_many([a.id, "missing", c.id]) == {a.id: a, c.id: c}
    assert store.get_many([]) == {}


def test_get_many_handles_more_ids_than_one_sql_statement_takes(store: TaskStore,
                                                                make_task: MakeTask) -> None:
    tasks = [make_task() for _ in range(1_200)]
    store.add(tasks)
    got = store.get_many([t.id for t in tasks])
    assert len(got) == 1_200 and got[tasks[-1].id] == tasks[-1]


# --- query ----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(store: TaskStore, make_task: MakeTask) -> dict[str, Task]:
    """Tasks created in the order c, a, b, d (not id order), with varied fields."""
    tasks = {
        "c": make_task(id="c", name="SYNC", room_id="r1", world_id="w1", entity_id="e1", tags=["x", "y"]),
        "a": make_task(id="a", name="EMAIL", room_id="r1", world_id="w2", entity_id="e2", tags=["x"]),
        "b": make_task(id="b", name="SYNC", room_id="r2", world_id="w1", entity_id="e1",
                       tags=["y", "x", "z"]),
        "d": make_task(id="d", name="EMAIL", tags=[]),
    }
    store.add(list(tasks.values()))
    return tasks


@pytest.mark.parametrize("query, expected", [
    (TaskQuery(), ["c", "a", "b", "d"]),
    (TaskQuery(room_id="r1"), ["c", "a"]),
    (TaskQuery(world_id="w1"), ["c", "b"]),
    (TaskQuery(entity_id="e1"), ["c", "b"]),
    (TaskQuery(name="EMAIL"), ["a", "d"]),
    (TaskQuery(tags=("x",)), ["c", "a", "b"]),
    (TaskQuery(tags=("x", "y")), ["c", "b"]),
    (TaskQuery(tags=("y", "z", "x")), ["b"]),
    (TaskQuery(tags=("x", "nope")), []),
    (TaskQuery(name="SYNC", tags=("x",), world_id="w1", room_id="r2"), ["b"]),
    (TaskQuery(limit=2), ["c", "a"]),
    (TaskQuery(tags=("x",), limit=1), ["c"]),
    (TaskQuery(limit=0), []),
    (TaskQuery(room_id="nowhere"), []),
])
def test_query_filters_in_creation_order(store: TaskStore, catalogue: dict[str, Task],
                                         query: TaskQuery, expected: list[str]) -> None:
    result = store.query(query)
    assert ids(result) == expected
    assert result == [catalogue[task_id] for task_id in expected]


def test_query_by_status_matches_any_of_the_statuses(store: TaskStore, catalogue: dict[str, Task]) -> None:
    store.pause("a", T0)
    store.cancel("b", T0)
    assert ids(store.query(TaskQuery(status=(TaskStatus.PENDING,)))) == ["c", "d"]
    assert ids(store.query(TaskQuery(status=(TaskStatus.CANCELLED, TaskStatus.PAUSED)))) == ["a", "b"]
    assert ids(store.query(TaskQuery(status=(TaskStatus.PAUSED,), room_id="r2"))) == []
    assert store.query(TaskQuery(status=(TaskStatus.RUNNING,))) == []


# --- update / delete --------------------------------------------------------------------


@pytest.mark.parametrize("field, value, expected", [
    ("description", "new words", "new words"),
    ("tags", ["p", "q"], ("p", "q")),
    ("metadata", {"only": "this"}, {"only": "this"}),
    ("priority", "low", "low"),
    ("queue", "bulk", "bulk"),
    ("room_id", "r9", "r9"),
    ("world_id", "w9", "w9"),
    ("entity_id", "e9", "e9"),
    ("run_at", T0 + 500, from_timestamp(T0 + 500)),
    ("update_interval", 15.0, 15.0),
    ("max_attempts", 7, 7),
    ("max_failures", -1, -1),
    ("timeout", 2.5, 2.5),
    ("retry", {"max_attempts": 2, "factor": 3.0, "min_delay": 0.5, "max_delay": 9.0, "jitter": False},
     {"max_attempts": 2, "factor": 3.0, "min_delay": 0.5, "max_delay": 9.0, "jitter": False}),
    ("retry", None, None),
])
def test_update_sets_each_updatable_field(store: TaskStore, field: str, value: Any, expected: Any, ops: Ops,
                                          make_task: MakeTask) -> None:
    task = make_task(tags=["old"], metadata={"keep": "no"}, retry=Retry(), room_id="r0")
    store.add([task])
    updated = store.update(task.id, {field: value}, T0 + 10)
    assert getattr(updated, field) == expected
    assert updated.updated_at == from_timestamp(T0 + 10)
    assert ops.get(task.id) == updated


def test_update_replaces_metadata_whole(store: TaskStore, make_task: MakeTask) -> None:
    task = make_task(metadata={"a": 1, "b": 2})
    store.add([task])
    assert store.update(task.id, {"metadata": {"b": 3}}, T0).metadata == {"b": 3}


def test_update_of_tags_changes_what_tag_queries_find(store: TaskStore, make_task: MakeTask) -> None:
    task = make_task(tags=["old", "both"])
    store.add([task])
    store.update(task.id, {"tags": ["new", "both"]}, T0)
    assert store.query(TaskQuery(tags=("old",))) == []
    assert ids(store.query(TaskQuery(tags=("new", "both")))) == [task.id]


def test_update_of_priority_and_run_at_changes_claim_order(store: TaskStore, ops: Ops,
                                                           make_task: MakeTask) -> None:
    first, second = make_task(), make_task()
    store.add([first, second])
    store.update(second.id, {"priority": "high"}, T0)
    store.update(first.id, {"run_at": T0 + 100}, T0)
    assert ids([c.task for c in ops.claim_all(now=T0 + 1)]) == [second.id]


def test_update_of_an_unknown_task_raises_task_not_found(store: TaskStore) -> None:
    with pytest.raises(TaskNotFound):
        store.update("ghost", {"description": "x"}, T0)


@pytest.mark.parametrize("changes", [{"status": "succeeded"}, {"attempts": 0}, {"priority": "urgent"},
                                     {"metadata": "not a dict"}, {"run_at": None}])
def test_update_refuses_fields_and_values_it_cannot_store(store: TaskStore, changes: dict[str, Any],
                                                          ops: Ops, make_task: MakeTask) -> None:
    task = make_task()
    store.add([task])
    with pytest.raises(ValidationError):
        store.update(task.id, changes, T0 + 1)
    assert ops.get(task.id) == task


def test_delete_removes_the_task_and_its_logs(store: TaskStore, make_task: MakeTask) -> None:
    task = make_task(idempotency_key="k", tags=["t"])
    store.add([task])
    store.append_logs([LogRecord(task.id, 1, T0, "INFO", "hello")])
    assert store.delete(task.id) is True
    assert store.get(task.id) is None
    assert store.logs(task.id) == []
    assert store.query(TaskQuery(tags=("t",))) == []
    assert store.delete(task.id) is False
    again = make_task(id=task.id, idempotency_key="k")
    assert store.add([again]) == [task.id]
    assert store.logs(task.id) == []


# --- claim ----------------------------------------------------------------------------------


def test_claim_takes_high_before_normal_before_low(store: TaskStore, ops: Ops, make_task: MakeTask) -> None:
    low = make_task(priority="low", now=T0 - 30)
    normal = make_task(priority="normal", now=T0 - 20)
    high = make_task(priority="high", now=T0 - 10)
    store.add([low, normal, high])
    assert ids([c.task for c in ops.claim_all()]) == [high.id, normal.id, low.id]


def test_claim_is_fifo_by_run_at_then_creation_within_a_tier(store: TaskStore, ops: Ops,
                                                             make_task: MakeTask) -> None:
    late = make_task(id="late", run_at=from_timestamp(T0 - 5))
    early = make_task(id="early", run_at=from_timestamp(T0 - 50))
    tie_1 = make_task(id="z-tie-first", run_at=from_timestamp(T0 - 20))
    tie_2 = make_task(id="a-tie-second", run_at=from_timestamp(T0 - 20))
    store.add([late, early, tie_1, tie_2])
    one_at_a_time = [store.claim(["EMAIL"], 1, T0, "n", LEASE)[0].task.id for _ in range(2)]
    assert one_at_a_time == ["early", "z-tie-first"]
    assert ids([c.task for c in ops.claim_all()]) == ["a-tie-second", "late"]


def test_claim_takes_only_due_tasks(store: TaskStore, ops: Ops, make_task: MakeTask) -> None:
    now_due = make_task(run_at=from_timestamp(T0))
    future = make_task(delay=0.5)
    store.add([now_due, future])
    assert ids([c.task for c in ops.claim_all(now=T0)]) == [now_due.id]
    assert ops.claim_all(now=T0 + 0.4) == []
    assert ids([c.task for c in ops.claim_all(now=T0 + 0.5)]) == [future.id]


def test_claim_takes_only_the_names_asked_for(store: TaskStore, ops: Ops, make_task: MakeTask) -> None:
    email, sync, other = make_task(name="EMAIL"), make_task(name="SYNC"), make_task(name="OTHER")
    store.add([email, sync, other])
    assert sorted(ids([c.task for c in ops.claim_all(("EMAIL", "SYNC"))])) == sorted([email.id, sync.id])
    assert store.claim([], 10, T0, "n", LEASE) == []
    assert ops.get(other.id).status is TaskStatus.PENDING


def test_claim_respects_limit_and_takes_the_rest_next_time(store: TaskStore, make_task: MakeTask) -> None:
    tasks = [make_task(now=T0 + i) for i in range(5)]
    store.add(tasks)
    now = T0 + 10
    first = store.claim(["EMAIL"], 2, now, "n", LEASE)
    second = store.claim(["EMAIL"], 2, now, "n", LEASE)
    third = store.claim(["EMAIL"], 2, now, "n", LEASE)
    assert [ids([c.task for c in batch]) for batch in (first, second, third)] == [
        [tasks[0].id, tasks[1].id], [tasks[2].id, tasks[3].id], [tasks[4].id]]
    assert store.claim(["EMAIL"], 2, now, "n", LEASE) == []
    assert store.claim(["EMAIL"], 0, now, "n", LEASE) == []


def test_claim_marks_rows_running_with_a_fresh_token_and_attempts_plus_one(store: TaskStore, ops: Ops,
                                                                           make_task: MakeTask) -> None:
    store.add([make_task(attempts=2), make_task()])
    claims = ops.claim_all(now=T0 + 3)
    assert len({c.token for c in claims}) == 2 and all(c.token for c in claims)
    for claim in claims:
        stored = ops.get(claim.task.id)
        assert stored == claim.task
        assert stored.status is TaskStatus.RUNNING
        assert stored.updated_at == from_timestamp(T0 + 3)
    assert [c.task.attempts for c in claims] == [3, 1]
    assert store.next_lease_expiry() == T0 + 3 + LEASE


def test_claim_never_hands_out_a_row_twice_and_tokens_stay_unique(store: TaskStore,
                                                                  make_task: MakeTask) -> None:
    store.add([make_task() for _ in range(30)])
    claimed: list[Claim] = []
    for owner in ("a", "b", "c", "d"):
        claimed += store.claim(["EMAIL"], 8, T0, owner, LEASE)
    assert len(claimed) == 30
    assert len({c.task.id for c in claimed}) == 30
    assert len({c.token for c in claimed}) == 30


@pytest.mark.parametrize("status", [TaskStatus.PAUSED, TaskStatus.CANCELLED, TaskStatus.SUCCEEDED,
                                    TaskStatus.FAILED, TaskStatus.RUNNING])
def test_claim_ignores_rows_that_are_not_pending(store: TaskStore, status: TaskStatus, ops: Ops) -> None:
    ops.reach(status)
    assert ops.claim_all(now=T0 + 100) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["high", "normal", "low"]), st.integers(-3, 3)),
                     min_size=1, max_size=12),
       limit=st.integers(1, 12))
def test_claim_order_is_priority_then_run_at_then_creation(store: TaskStore, make_task: MakeTask,
                                                          rows: list[tuple[str, int]], limit: int) -> None:
    name = f"P-{next(_examples)}"  # the store outlives examples: each one claims its own name
    tasks = [make_task(name=name, priority=p, run_at=from_timestamp(T0 + offset)) for p, offset in rows]
    store.add(tasks)
    rank = {"high": 0, "normal": 1, "low": 2}
    expected = sorted(range(len(tasks)), key=lambda i: (rank[rows[i][0]], rows[i][1], i))
    expected = [i for i in expected if rows[i][1] <= 0][:limit]
    got = store.claim([name], limit, T0, "n", LEASE)
    assert ids([c.task for c in got]) == [tasks[i].id for i in expected]


# --- renew / release ------------------------------------------------------------------------


def test_renew_extends_the_leases_of_one_owner(store: TaskStore, ops: Ops, make_task: MakeTask) -> None:
    store.add([make_task() for _ in range(3)])
    mine = store.claim(["EMAIL"], 2, T0, "me", LEASE)
    theirs = store.claim(["EMAIL"], 1, T0, "them", LEASE)
    assert store.renew("me", T0 + 20, LEASE) == 2
    assert store.renew("nobody", T0 + 20, LEASE) == 0
    reclaimed = store.reclaim_expired(T0 + LEASE, max_crashes=5)
    assert ids(reclaimed) == [theirs[0].task.id]
    assert store.next_lease_expiry() == T0 + 20 + LEASE
    assert {ops.get(c.task.id).status for c in mine} == {TaskStatus.RUNNING}


def test_release_honours_a_pause_requested_while_running(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    store.pause(claim.task.id, T0 + 2)
    assert store.release([(claim.task.id, claim.token)], T0 + 3) == 1
    assert ops.get(claim.task.id).status is TaskStatus.PAUSED


def test_release_gives_tasks_back_with_the_attempt_uncounted(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    assert store.release([(claim.task.id, "stale-token")], T0 + 2) == 0
    assert store.release([(claim.task.id, claim.token)], T0 + 2) == 1
    back = ops.get(claim.task.id)
    assert (back.status, back.attempts, back.updated_at) == (TaskStatus.PENDING, 0, from_timestamp(T0 + 2))
    assert store.release([(claim.task.id, claim.token)], T0 + 3) == 0
    assert store.next_lease_expiry() is None
    again = ops.claim_all(now=T0 + 3)
    assert again[0].task.attempts == 1 and again[0].token != claim.token


# --- finish ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED])
def test_finish_to_a_final_status_records_the_outcome(store: TaskStore, status: TaskStatus, ops: Ops) -> None:
    claim = ops.claim_one()
    done = Finish(claim.task.id, claim.token, status, result={"n": 1}, error="E: x", failure_count=2,
                  crash_count=1)
    assert store.finish([done], T0 + 9) == [claim.task.id]
    task = ops.get(claim.task.id)
    assert (task.status, task.result, task.error, task.failure_count, task.crash_count) == (
        status, {"n": 1}, "E: x", 2, 1)
    assert task.finished_at == from_timestamp(T0 + 9) and task.updated_at == from_timestamp(T0 + 9)
    assert store.next_lease_expiry() is None


def test_finish_back_to_pending_schedules_the_next_run(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one(update_interval=60.0, delay=0)
    retry = Finish(claim.task.id, claim.token, TaskStatus.PENDING, run_at=T0 + 61, result=[1], error=None)
    assert store.finish([retry], T0 + 5) == [claim.task.id]
    task = ops.get(claim.task.id)
    assert (task.status, task.run_at, task.finished_at, task.result) == (
        TaskStatus.PENDING, from_timestamp(T0 + 61), None, [1])
    assert ops.claim_all(now=T0 + 60) == []
    assert ids([c.task for c in ops.claim_all(now=T0 + 61)]) == [claim.task.id]


def test_finish_pending_without_run_at_keeps_the_old_run_at(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    store.finish([Finish(claim.task.id, claim.token, TaskStatus.PENDING, error="E: retry")], T0 + 5)
    task = ops.get(claim.task.id)
    assert task.run_at == claim.task.run_at and task.error == "E: retry"


def test_finish_to_paused_auto_pauses(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    store.finish([Finish(claim.task.id, claim.token, TaskStatus.PAUSED, failure_count=5)], T0 + 5)
    assert ops.get(claim.task.id).status is TaskStatus.PAUSED


def test_finish_with_a_stale_token_is_ignored_and_not_returned(store: TaskStore, ops: Ops) -> None:
    a, b = ops.claim_one(), ops.claim_one()
    applied = store.finish([
        Finish(a.task.id, "stale", TaskStatus.SUCCEEDED, result="zombie"),
        Finish(b.task.id, b.token, TaskStatus.SUCCEEDED, result="ok"),
        Finish(b.task.id, b.token, TaskStatus.FAILED, error="second write of one attempt"),
        Finish("ghost", "t", TaskStatus.SUCCEEDED),
    ], T0 + 5)
    assert applied == [b.task.id]
    assert ops.get(a.task.id).status is TaskStatus.RUNNING
    assert (ops.get(b.task.id).status, ops.get(b.task.id).result) == (TaskStatus.SUCCEEDED, "ok")
    assert store.finish([Finish(b.task.id, b.token, TaskStatus.FAILED)], T0 + 6) == []


def test_a_zombie_cannot_finish_after_its_row_was_reclaimed_and_claimed_again(store: TaskStore,
                                                                              ops: Ops) -> None:
    old = ops.claim_one()
    store.reclaim_expired(T0 + 1 + LEASE, max_crashes=3)
    new = ops.claim_all(now=T0 + 100)[0]
    assert store.finish([Finish(old.task.id, old.token, TaskStatus.FAILED, error="zombie")], T0 + 101) == []
    assert store.finish([Finish(new.task.id, new.token, TaskStatus.SUCCEEDED)], T0 + 101) == [new.task.id]
    assert ops.get(new.task.id).error is None


def test_a_pause_requested_while_running_turns_pending_into_paused(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    assert store.pause(claim.task.id, T0 + 2).status is TaskStatus.RUNNING
    store.finish([Finish(claim.task.id, claim.token, TaskStatus.PENDING, run_at=T0 + 3)], T0 + 3)
    assert ops.get(claim.task.id).status is TaskStatus.PAUSED


def test_a_pause_requested_while_running_does_not_stop_a_final_status(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    store.pause(claim.task.id, T0 + 2)
    store.finish([Finish(claim.task.id, claim.token, TaskStatus.SUCCEEDED)], T0 + 3)
    assert ops.get(claim.task.id).status is TaskStatus.SUCCEEDED


def test_finish_refuses_running_and_non_json_results_applying_nothing(store: TaskStore, ops: Ops) -> None:
    a, b = ops.claim_one(), ops.claim_one()
    with pytest.raises(ValidationError):
        store.finish([Finish(a.task.id, a.token, TaskStatus.SUCCEEDED),
                      Finish(b.task.id, b.token, TaskStatus.RUNNING)], T0)
    with pytest.raises(ValidationError):
        store.finish([Finish(a.task.id, a.token, TaskStatus.SUCCEEDED),
                      Finish(b.task.id, b.token, TaskStatus.SUCCEEDED, result=object())], T0)
    assert {ops.get(c.task.id).status for c in (a, b)} == {TaskStatus.RUNNING}


# --- progress, metadata, logs ------------------------------------------------------------------


def test_set_progress_is_fenced_by_the_token(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    assert store.set_progress(claim.task.id, claim.token, 40.0, T0 + 2) is True
    assert store.set_progress(claim.task.id, "stale", 90.0, T0 + 3) is False
    task = ops.get(claim.task.id)
    assert (task.progress, task.updated_at) == (40.0, from_timestamp(T0 + 2))
    store.finish([Finish(claim.task.id, claim.token, TaskStatus.SUCCEEDED)], T0 + 4)
    assert store.set_progress(claim.task.id, claim.token, 100.0, T0 + 5) is False
    assert store.set_progress("ghost", claim.token, 1.0, T0) is False


def test_merge_metadata_is_shallow_and_fenced_when_a_token_is_given(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one(metadata={"a": 1, "nested": {"x": 1, "y": 2}})
    task_id = claim.task.id
    assert store.merge_metadata(task_id, claim.token, {"b": 2, "nested": {"x": 9}}, T0 + 2) is True
    assert ops.get(task_id).metadata == {"a": 1, "b": 2, "nested": {"x": 9}}
    assert store.merge_metadata(task_id, "stale", {"a": "zombie"}, T0 + 3) is False
    assert ops.get(task_id).metadata["a"] == 1
    store.finish([Finish(task_id, claim.token, TaskStatus.SUCCEEDED)], T0 + 4)
    assert store.merge_metadata(task_id, claim.token, {"late": True}, T0 + 5) is False
    assert store.merge_metadata(task_id, None, {"by": "user"}, T0 + 6) is True
    task = ops.get(task_id)
    assert task.metadata == {"a": 1, "b": 2, "nested": {"x": 9}, "by": "user"}
    assert task.updated_at == from_timestamp(T0 + 6)
    assert store.merge_metadata("ghost", None, {"a": 1}, T0) is False
    with pytest.raises(ValidationError):
        store.merge_metadata(task_id, None, {"bad": object()}, T0)


def test_logs_come_back_oldest_first_and_lines_of_unknown_tasks_are_dropped(store: TaskStore,
                                                                            make_task: MakeTask) -> None:
    one, two = make_task(), make_task()
    store.add([one, two])
    store.append_logs([
        LogRecord(one.id, 2, T0 + 5, "ERROR", "second attempt failed"),
        LogRecord(one.id, 1, T0 + 1, "INFO", "first"),
        LogRecord("ghost", 1, T0, "INFO", "nobody"),
        LogRecord(two.id, 1, T0 + 2, "WARNING", "other task"),
        LogRecord(one.id, 1, T0 + 1, "INFO", "first, same time"),
    ])
    store.append_logs([])
    assert store.logs(one.id) == [
        LogRecord(one.id, 1, T0 + 1, "INFO", "first"),
        LogRecord(one.id, 1, T0 + 1, "INFO", "first, same time"),
        LogRecord(one.id, 2, T0 + 5, "ERROR", "second attempt failed"),
    ]
    assert store.logs(two.id) == [LogRecord(two.id, 1, T0 + 2, "WARNING", "other task")]
    assert store.logs("ghost") == []


# --- pause / resume / cancel ------------------------------------------------------------------


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_pause_in_each_status(store: TaskStore, status: TaskStatus, ops: Ops) -> None:
    before, token = ops.reach(status)
    after = store.pause(before.id, T0 + 50)
    assert after == ops.get(before.id)
    if status is TaskStatus.PENDING:
        assert after.status is TaskStatus.PAUSED and after.updated_at == from_timestamp(T0 + 50)
        assert ops.claim_all(now=T0 + 100) == []
    elif status is TaskStatus.RUNNING:
        assert after.status is TaskStatus.RUNNING
        assert token is not None
        store.finish([Finish(before.id, token, TaskStatus.PENDING)], T0 + 51)
        assert ops.get(before.id).status is TaskStatus.PAUSED
    else:
        assert after == before


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_resume_in_each_status(store: TaskStore, status: TaskStatus, ops: Ops) -> None:
    before, _ = ops.reach(status)
    if status is TaskStatus.PAUSED:
        store.update(before.id, {"description": "x"}, T0 + 2)
        before = ops.get(before.id)
    if status is not TaskStatus.PAUSED:  # not paused (a RUNNING one was never asked to pause)
        with pytest.raises(ValidationError) as info:
            store.resume(before.id, T0 + 50)
        assert (info.value.field, info.value.value) == ("status", status.value)
        assert ops.get(before.id) == before
        return
    after = store.resume(before.id, T0 + 50)
    assert after == ops.get(before.id)
    assert (after.status, after.failure_count, after.run_at) == (TaskStatus.PENDING, 0, before.run_at)
    assert ids([c.task for c in ops.claim_all(now=T0 + 100)]) == [before.id]


def test_resume_resets_the_failure_count_of_an_auto_paused_task(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    store.finish([Finish(claim.task.id, claim.token, TaskStatus.PAUSED, failure_count=5)], T0 + 2)
    assert store.resume(claim.task.id, T0 + 3).failure_count == 0


def test_resume_withdraws_a_pause_requested_while_running(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    store.pause(claim.task.id, T0 + 2)
    store.resume(claim.task.id, T0 + 3)
    store.finish([Finish(claim.task.id, claim.token, TaskStatus.PENDING)], T0 + 4)
    assert ops.get(claim.task.id).status is TaskStatus.PENDING


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_cancel_in_each_status(store: TaskStore, status: TaskStatus, ops: Ops) -> None:
    before, token = ops.reach(status)
    returned = store.cancel(before.id, T0 + 50)
    assert returned == before
    after = ops.get(before.id)
    if status.finished:
        assert after == before
        return
    assert after.status is TaskStatus.CANCELLED
    assert after.finished_at == from_timestamp(T0 + 50)
    assert store.next_lease_expiry() is None
    assert ops.claim_all(now=T0 + 100) == []
    if token is not None:
        assert store.finish([Finish(before.id, token, TaskStatus.SUCCEEDED)], T0 + 51) == []
        assert store.set_progress(before.id, token, 1.0, T0 + 51) is False


def test_user_transitions_of_unknown_tasks(store: TaskStore) -> None:
    with pytest.raises(TaskNotFound):
        store.pause("ghost", T0)
    with pytest.raises(TaskNotFound):
        store.resume("ghost", T0)
    assert store.cancel("ghost", T0) is None


# --- leases expiring ----------------------------------------------------------------------------


def test_reclaim_expired_returns_expired_leases_to_pending_counting_a_crash(store: TaskStore,
                                                                            ops: Ops) -> None:
    claim = ops.claim_one()
    expiry = T0 + 1 + LEASE
    assert store.reclaim_expired(expiry - 0.001, max_crashes=3) == []
    reclaimed = store.reclaim_expired(expiry, max_crashes=3)
    assert reclaimed == [ops.get(claim.task.id)]
    task = reclaimed[0]
    assert (task.status, task.crash_count, task.attempts) == (TaskStatus.PENDING, 1, 1)
    assert task.error is not None and task.finished_at is None
    assert store.next_lease_expiry() is None
    assert store.set_progress(task.id, claim.token, 5.0, expiry) is False
    assert ops.claim_all(now=expiry)[0].task.attempts == 2


def test_reclaim_quarantines_a_task_that_reaches_max_crashes(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one(crash_count=1)
    expiry = T0 + 1 + LEASE
    [task] = store.reclaim_expired(expiry, max_crashes=2)
    assert (task.status, task.crash_count) == (TaskStatus.FAILED, 2)
    assert task.error is not None and "crash" in task.error.lower()
    assert task.finished_at == from_timestamp(expiry)
    assert ops.get(claim.task.id) == task
    assert ops.claim_all(now=expiry + 100) == []


def test_reclaim_honours_a_pause_requested_while_running(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    store.pause(claim.task.id, T0 + 2)
    [task] = store.reclaim_expired(T0 + 1 + LEASE, max_crashes=3)
    assert task.status is TaskStatus.PAUSED


def test_next_due_is_the_earliest_pending_run_of_the_given_names(store: TaskStore,
                                                                 make_task: MakeTask) -> None:
    assert store.next_due(["EMAIL"]) is None
    store.add([
        make_task(name="EMAIL", delay=50, priority="high"),
        make_task(name="EMAIL", delay=20, priority="low"),
        make_task(name="SYNC", delay=5),
        make_task(name="EMAIL", delay=1, status=TaskStatus.PAUSED),
    ])
    assert store.next_due(["EMAIL"]) == T0 + 20
    assert store.next_due(["EMAIL", "SYNC"]) == T0 + 5
    assert store.next_due(["OTHER"]) is None
    assert store.next_due([]) is None


def test_next_lease_expiry_is_the_earliest_running_lease(store: TaskStore, make_task: MakeTask) -> None:
    assert store.next_lease_expiry() is None
    store.add([make_task(), make_task()])
    store.claim(["EMAIL"], 1, T0, "a", 50.0)
    store.claim(["EMAIL"], 1, T0, "b", 10.0)
    assert store.next_lease_expiry() == T0 + 10.0


# --- housekeeping -----------------------------------------------------------------------------


def test_prune_deletes_only_finished_tasks_finished_before_the_cutoff(store: TaskStore, ops: Ops,
                                                                     make_task: MakeTask) -> None:
    done_early, done_late = ops.claim_one(), ops.claim_one()
    store.finish([Finish(done_early.task.id, done_early.token, TaskStatus.SUCCEEDED)], T0 + 10)
    store.finish([Finish(done_late.task.id, done_late.token, TaskStatus.FAILED)], T0 + 20)
    cancelled, _ = ops.reach(TaskStatus.CANCELLED)
    pending, _ = ops.reach(TaskStatus.PENDING)
    paused, _ = ops.reach(TaskStatus.PAUSED)
    running, _ = ops.reach(TaskStatus.RUNNING)
    imported = make_task(status=TaskStatus.PAUSED, finished_at=from_timestamp(T0))  # not final: kept
    store.add([imported])
    store.append_logs([LogRecord(done_early.task.id, 1, T0, "INFO", "bye")])
    assert store.prune(T0 + 15) == 2
    assert store.get(done_early.task.id) is None and store.get(cancelled.id) is None
    assert store.logs(done_early.task.id) == []
    assert store.prune(T0 + 15) == 0
    assert store.prune(T0 + 1_000) == 1
    kept = [pending.id, paused.id, running.id, imported.id]
    assert set(store.get_many(kept)) == set(kept)


def test_counts_has_every_status(store: TaskStore, ops: Ops) -> None:
    assert store.counts() == {status.value: 0 for status in TaskStatus}
    for status in ALL_STATUSES:
        ops.reach(status)
    ops.reach(TaskStatus.PENDING)
    expected = {status.value: 1 for status in TaskStatus}
    expected["pending"] = 2
    assert store.counts() == expected


def test_pending_names_counts_pending_tasks_by_name(store: TaskStore, ops: Ops, make_task: MakeTask) -> None:
    assert store.pending_names() == {}
    store.add([make_task(name="EMAIL"), make_task(name="EMAIL"), make_task(name="SYNC", delay=99),
               make_task(name="GONE", status=TaskStatus.PAUSED)])
    ops.claim_all(("SYNC",), now=T0 + 100)
    assert store.pending_names() == {"EMAIL": 2}


def test_close_is_idempotent_and_a_closed_store_refuses_work(store: TaskStore) -> None:
    store.close()
    store.close()
    with pytest.raises(StoreError):
        store.get("x")


# --- suspend (an attempt that stopped to wait on other tasks: ctx.wait) ---------------------


def test_suspend_puts_the_task_back_due_later_without_spending_an_attempt(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    assert store.suspend([(claim.task.id, "stale-token", T0 + 50)], T0 + 2) == []
    assert store.suspend([(claim.task.id, claim.token, T0 + 50)], T0 + 2) == [claim.task.id]
    back = ops.get(claim.task.id)
    assert (back.status, back.attempts, back.run_at, back.updated_at) == (
        TaskStatus.PENDING, 0, from_timestamp(T0 + 50), from_timestamp(T0 + 2))
    assert store.next_lease_expiry() is None
    assert store.suspend([(claim.task.id, claim.token, T0 + 60)], T0 + 3) == []  # not running any more
    assert ops.claim_all(now=T0 + 49) == []  # not due before its run_at
    again = ops.claim_all(now=T0 + 50)
    assert [c.task.id for c in again] == [claim.task.id] and again[0].task.attempts == 1
    assert again[0].token != claim.token


def test_suspend_keeps_the_result_error_and_counters(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    assert store.finish([Finish(claim.task.id, claim.token, TaskStatus.PENDING, run_at=T0 + 2, error="E: x",
                                failure_count=1, crash_count=1)], T0 + 2) == [claim.task.id]
    second = ops.claim_all(now=T0 + 3)[0]
    assert store.suspend([(second.task.id, second.token, T0 + 9)], T0 + 4) == [second.task.id]
    back = ops.get(second.task.id)
    assert (back.attempts, back.error, back.failure_count, back.crash_count) == (1, "E: x", 1, 1)


def test_suspend_honours_a_pause_requested_while_running(store: TaskStore, ops: Ops) -> None:
    claim = ops.claim_one()
    store.pause(claim.task.id, T0 + 2)
    assert store.suspend([(claim.task.id, claim.token, T0 + 9)], T0 + 3) == [claim.task.id]
    assert ops.get(claim.task.id).status is TaskStatus.PAUSED


def test_suspend_applies_many_in_order_and_skips_stale_ones(store: TaskStore, ops: Ops) -> None:
    first, second = ops.claim_one(), ops.claim_one()
    items = [(second.task.id, second.token, T0 + 7), (first.task.id, "stale", T0 + 8),
             (first.task.id, first.token, T0 + 9)]
    assert store.suspend(items, T0 + 2) == [second.task.id, first.task.id]
    assert ops.get(first.task.id).run_at == from_timestamp(T0 + 9)
    assert ops.get(second.task.id).run_at == from_timestamp(T0 + 7)
    assert store.suspend([], T0 + 3) == []
