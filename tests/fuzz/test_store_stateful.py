"""A stateful test of the ``TaskStore`` contract, on every store (memory, SQLite, PostgreSQL).

Hypothesis drives random sequences of the named transitions (add with idempotency keys,
claim, finish with every outcome ``Finish`` allows, release, cancel, pause, resume, delete,
update, renew, reclaim of expired leases with a manual ``now``) against one store and a
plain model (id -> status, attempts, lease, ...). After every step the store must agree
with the model: counts, every row's state, nothing lost and nothing extra. A claim must
return exactly the due PENDING tasks the model expects, in the documented order (priority,
then ``run_at``, then creation), so no task is ever held by two owners; a finish or release
with a stale token changes nothing.

Stores are built as ``tests/contract/conftest.py`` builds them (``STORE_FACTORIES``); the
PostgreSQL one is opened once per test and emptied with ``reset_for_tests`` before each run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from actors.clock import from_timestamp
from actors.errors import TaskNotFound, ValidationError
from actors.models import PRIORITIES, TaskStatus
from actors.storage.base import Finish, TaskStore
from tests.contract.conftest import STORE_FACTORIES, T0, make_task
from tests.fuzz.conftest import STATEFUL, fuzz_settings

NAMES = ("EMAIL", "SMS")
OWNERS = ("node-a", "node-b")
KEYS = (None, None, None, "k1", "k2", "k3")
#: Stateful runs per unit of the profile's weight, by store (each run is up to ``STEPS`` steps).
WEIGHTS = {"memory": 0.5, "sqlite": 0.25, "postgres": 0.1}
STEPS = 30
_stale = itertools.count()


@dataclass
class Row:
    """What the model knows of one task."""

    name: str
    seq: int
    status: TaskStatus = TaskStatus.PENDING
    priority: str = "normal"
    run_at: float = T0
    attempts: int = 0
    crash_count: int = 0
    failure_count: int = 0
    owner: str | None = None
    token: str | None = None
    lease: float | None = None
    pause_requested: bool = False
    key: str | None = None

    def leave_running(self, status: TaskStatus) -> None:
        if status is TaskStatus.PENDING and self.pause_requested:
            status = TaskStatus.PAUSED
        self.status = status
        self.owner = self.token = self.lease = None
        self.pause_requested = False


class StoreMachine(RuleBasedStateMachine):
    """One store against the model; ``open_store`` gives an empty store per run."""

    open_store: Callable[[], TaskStore]
    close_store: bool = True
    kind: str = "?"

    def __init__(self) -> None:
        super().__init__()
        self.store = type(self).open_store()
        self.kind = type(self).kind
        STATEFUL[f"{self.kind} runs"] += 1
        self.now = T0
        self.rows: dict[str, Row] = {}
        self.keys: dict[str, str] = {}
        self.seq = itertools.count()

    def teardown(self) -> None:
        if type(self).close_store:
            self.store.close()

    # --- helpers --------------------------------------------------------------------------

    def pick(self, index: int, missing: bool) -> str:
        """A known id (``index`` into them) or, with ``missing`` or none known, an unknown one."""
        if missing or not self.rows:
            return f"missing-{index}"
        return sorted(self.rows)[index % len(self.rows)]

    def running(self) -> list[str]:
        return sorted(task_id for task_id, row in self.rows.items() if row.status is TaskStatus.RUNNING)

    def token_for(self, task_id: str, which: str) -> str:
        row = self.rows.get(task_id)
        if which == "right" and row is not None and row.token is not None:
            return row.token
        return f"stale-{next(_stale)}"

    # --- transitions ----------------------------------------------------------------------

    @initialize()
    def start_empty(self) -> None:
        assert sum(self.store.counts().values()) == 0

    @rule(batch=st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(PRIORITIES),
                                   st.sampled_from([0.0, 0.0, 5.0, 60.0]), st.sampled_from(KEYS)),
                         min_size=1, max_size=3))
    def add(self, batch: list[tuple[str, str, float, str | None]]) -> None:
        tasks = [make_task(name=name, priority=priority, delay=delay, idempotency_key=key, now=self.now)
                 for name, priority, delay, key in batch]
        ids = self.store.add(tasks)
        for task, got in zip(tasks, ids, strict=True):
            key = task.idempotency_key
            if key is not None and key in self.keys:
                assert got == self.keys[key], "an idempotency key hit must return the first task's id"
                continue
            assert got == task.id
            assert task.run_at is not None
            self.rows[got] = Row(task.name, next(self.seq), priority=task.priority,
                                 run_at=task.run_at.timestamp(), key=key)
            if key is not None:
                self.keys[key] = got

    @rule(names=st.sets(st.sampled_from(NAMES)), limit=st.integers(0, 4), owner=st.sampled_from(OWNERS),
          ttl=st.sampled_from([10.0, 30.0]))
    def claim(self, names: set[str], limit: int, owner: str, ttl: float) -> None:
        due = sorted((PRIORITIES.index(row.priority), row.run_at, row.seq, task_id)
                     for task_id, row in self.rows.items()
                     if row.status is TaskStatus.PENDING and row.name in names and row.run_at <= self.now)
        expected = [task_id for *_, task_id in due[:limit]] if names else []
        claims = self.store.claim(names, limit, self.now, owner, ttl)
        assert [claim.task.id for claim in claims] == expected, "claim order or due set differs"
        tokens = {claim.token for claim in claims}
        assert len(tokens) == len(claims) and not tokens & {row.token for row in self.rows.values()}
        for claim in claims:
            row = self.rows[claim.task.id]
            row.status, row.attempts = TaskStatus.RUNNING, row.attempts + 1
            row.owner, row.token, row.lease = owner, claim.token, self.now + ttl
            assert claim.task.status is TaskStatus.RUNNING and claim.task.attempts == row.attempts

    @rule(index=st.integers(0, 100), missing=st.booleans(), which=st.sampled_from(["right", "right", "stale"]),
          outcome=st.sampled_from([TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.PENDING, TaskStatus.PAUSED]),
          retry_in=st.sampled_from([None, 0.0, 7.0]), twice=st.booleans())
    def finish(self, index: int, missing: bool, which: str, outcome: TaskStatus, retry_in: float | None,
               twice: bool) -> None:
        running = self.running()
        task_id = running[index % len(running)] if running and not missing else self.pick(index, missing)
        token = self.token_for(task_id, which)
        run_at = None if retry_in is None else self.now + retry_in
        item = Finish(task_id, token, outcome, run_at=run_at, result={"n": index}, error=None if outcome is
                      TaskStatus.SUCCEEDED else "boom", failure_count=index % 3, crash_count=0)
        applied = self.store.finish([item, item] if twice else [item], self.now)
        row = self.rows.get(task_id)
        live = row is not None and row.status is TaskStatus.RUNNING and row.token == token
        assert applied == ([task_id] if live else []), "a fenced finish must apply once, a stale one never"
        if live and row is not None:
            row.leave_running(outcome)
            row.failure_count, row.crash_count = item.failure_count, 0
            if run_at is not None:
                row.run_at = run_at

    @rule(index=st.integers(0, 100), which=st.sampled_from(["right", "right", "stale"]))
    def release(self, index: int, which: str) -> None:
        running = self.running()
        task_id = running[index % len(running)] if running else self.pick(index, True)
        token = self.token_for(task_id, which)
        row = self.rows.get(task_id)
        live = row is not None and row.status is TaskStatus.RUNNING and row.token == token
        assert self.store.release([(task_id, token)], self.now) == (1 if live else 0)
        if live and row is not None:
            row.attempts = max(row.attempts - 1, 0)
            row.leave_running(TaskStatus.PENDING)

    @rule(index=st.integers(0, 100), missing=st.booleans())
    def cancel(self, index: int, missing: bool) -> None:
        task_id = self.pick(index, missing)
        before = self.store.cancel(task_id, self.now)
        row = self.rows.get(task_id)
        if row is None:
            assert before is None
            return
        assert before is not None and before.status is row.status, "cancel returns the task as it was"
        if not row.status.finished:
            row.leave_running(TaskStatus.CANCELLED)

    @rule(index=st.integers(0, 100), missing=st.booleans())
    def pause(self, index: int, missing: bool) -> None:
        task_id = self.pick(index, missing)
        row = self.rows.get(task_id)
        if row is None:
            with pytest.raises(TaskNotFound):
                self.store.pause(task_id, self.now)
            return
        task = self.store.pause(task_id, self.now)
        if row.status is TaskStatus.PENDING:
            row.status = TaskStatus.PAUSED
        elif row.status is TaskStatus.RUNNING:
            row.pause_requested = True
        assert task.status is row.status

    @rule(index=st.integers(0, 100), missing=st.booleans())
    def resume(self, index: int, missing: bool) -> None:
        task_id = self.pick(index, missing)
        row = self.rows.get(task_id)
        if row is None:
            with pytest.raises(TaskNotFound):
                self.store.resume(task_id, self.now)
            return
        if row.status is not TaskStatus.PAUSED and not (row.status is TaskStatus.RUNNING and row.pause_requested):
            with pytest.raises(ValidationError) as refused:  # neither paused nor pausing: named, nothing changes
                self.store.resume(task_id, self.now)
            assert refused.value.field == "status" and refused.value.value == row.status.value
            return
        task = self.store.resume(task_id, self.now)
        if row.status is TaskStatus.PAUSED:
            row.status, row.failure_count = TaskStatus.PENDING, 0
        else:
            row.pause_requested = False
        assert task.status is row.status

    @rule(index=st.integers(0, 100), missing=st.booleans())
    def delete(self, index: int, missing: bool) -> None:
        task_id = self.pick(index, missing)
        row = self.rows.pop(task_id, None)
        assert self.store.delete(task_id) is (row is not None)
        if row is not None and row.key is not None:
            del self.keys[row.key]

    @rule(index=st.integers(0, 100), missing=st.booleans(), priority=st.sampled_from(PRIORITIES),
          run_in=st.sampled_from([None, -5.0, 0.0, 20.0]))
    def update(self, index: int, missing: bool, priority: str, run_in: float | None) -> None:
        task_id = self.pick(index, missing)
        changes: dict[str, object] = {"priority": priority, "description": f"updated {index}"}
        if run_in is not None:
            changes["run_at"] = self.now + run_in
        row = self.rows.get(task_id)
        if row is None:
            with pytest.raises(TaskNotFound):
                self.store.update(task_id, changes, self.now)
            return
        task = self.store.update(task_id, changes, self.now)
        row.priority = priority
        if run_in is not None:
            row.run_at = self.now + run_in
        assert task.priority == priority and task.status is row.status
        assert task.run_at == from_timestamp(row.run_at)

    @rule(owner=st.sampled_from(OWNERS), ttl=st.sampled_from([10.0, 30.0]))
    def renew(self, owner: str, ttl: float) -> None:
        held = [row for row in self.rows.values() if row.status is TaskStatus.RUNNING and row.owner == owner]
        assert self.store.renew(owner, self.now, ttl) == len(held)
        for row in held:
            row.lease = self.now + ttl

    @rule(seconds=st.sampled_from([1.0, 5.0, 10.0, 31.0]))
    def advance(self, seconds: float) -> None:
        self.now += seconds

    @rule(max_crashes=st.integers(0, 3))
    def reclaim(self, max_crashes: int) -> None:
        expired = {task_id for task_id, row in self.rows.items() if row.status is TaskStatus.RUNNING
                   and row.lease is not None and row.lease <= self.now}
        back = self.store.reclaim_expired(self.now, max_crashes)
        assert {task.id for task in back} == expired
        for task in back:
            row = self.rows[task.id]
            row.crash_count += 1
            quarantined = max_crashes >= 1 and row.crash_count >= max_crashes
            row.leave_running(TaskStatus.FAILED if quarantined else TaskStatus.PENDING)
            assert task.status is row.status and task.crash_count == row.crash_count

    # --- what must hold after every step ---------------------------------------------------

    @invariant()
    def agrees_with_the_model(self) -> None:
        STATEFUL[f"{self.kind} steps"] += 1
        counts = {status.value: 0 for status in TaskStatus}
        for row in self.rows.values():
            counts[row.status.value] += 1
        assert self.store.counts() == counts
        stored = self.store.get_many(list(self.rows))
        assert set(stored) == set(self.rows), "a task was lost"
        for task_id, row in self.rows.items():
            task = stored[task_id]
            got = (task.status, task.attempts, task.crash_count, task.priority, task.name)
            assert got == (row.status, row.attempts, row.crash_count, row.priority, row.name), task_id
            if row.status is not TaskStatus.RUNNING:
                assert task.run_at == from_timestamp(row.run_at), task_id
        leases = [row.lease for row in self.rows.values() if row.lease is not None]
        assert self.store.next_lease_expiry() == (min(leases) if leases else None)
        pending = [row.run_at for row in self.rows.values() if row.status is TaskStatus.PENDING]
        assert self.store.next_due(NAMES) == (min(pending) if pending else None)

    @invariant()
    def one_owner_per_task(self) -> None:
        tokens = [row.token for row in self.rows.values() if row.token is not None]
        assert len(tokens) == len(set(tokens))
        for row in self.rows.values():
            assert (row.status is TaskStatus.RUNNING) == (row.owner is not None)


@pytest.fixture(params=[pytest.param(kind, marks=[pytest.mark.postgres] if kind == "postgres" else [])
                        for kind in STORE_FACTORIES])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def opener(store_kind: str, tmp_path: Path) -> Iterator[tuple[Callable[[], TaskStore], bool]]:
    """How each run gets an empty store: memory and SQLite a new one (a new file), PostgreSQL the
    same connection pool emptied with ``reset_for_tests`` (as the contract fixture does)."""
    if store_kind != "postgres":
        runs = itertools.count()
        factory = STORE_FACTORIES[store_kind]

        def fresh() -> TaskStore:
            path = tmp_path / f"run-{next(runs)}"
            path.mkdir()
            return factory(path)

        yield fresh, True
        return
    shared = STORE_FACTORIES["postgres"](tmp_path)

    def reset() -> TaskStore:
        shared.reset_for_tests()  # type: ignore[attr-defined]
        return shared

    try:
        yield reset, False
    finally:
        shared.close()


def test_store_contract_stateful(store_kind: str, opener: tuple[Callable[[], TaskStore], bool]) -> None:
    open_store, close = opener

    machine = type(f"StoreMachine_{store_kind}", (StoreMachine,),
                   {"open_store": staticmethod(open_store), "close_store": close, "kind": store_kind})
    run_state_machine_as_test(machine, settings=fuzz_settings(WEIGHTS[store_kind], stateful_step_count=STEPS))

