"""Hostile input on the public API: only documented errors, nothing stored from a refused
input, and an accepted input round-trips (``get_task`` gives back what was given, after
the documented normalisation: JSON for metadata and retry, float seconds for durations,
aware UTC datetimes from epoch seconds, tags without repeats).

Each case runs against a client-only node (``workers=0``, ``ManualClock``: no background
thread) on ``memory://``, a temporary SQLite file and PostgreSQL (fewer cases there).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from actors import Retry, Supervisor, TaskNotFound, TaskSpec, TaskStatus, TaskWorker, ValidationError
from actors.clock import ManualClock, from_timestamp, to_timestamp
from actors.cron import Cron
from actors.models import Task
from actors.storage.base import UPDATABLE_FIELDS
from tests.contract.conftest import STORE_FACTORIES, T0
from tests.fuzz import strategies as hs
from tests.fuzz.conftest import fuzz_settings

#: Cases on PostgreSQL relative to the other stores (each case is several round trips).
PG_WEIGHT = 0.25


@dataclass
class Node:
    """A client-only node and what the test knows about its store."""

    sup: Supervisor
    kind: str
    keys: dict[str, str] = field(default_factory=dict)  # idempotency key -> id

    def counts(self) -> dict[str, int]:
        return self.sup.store.counts()


@pytest.fixture(scope="module")
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    store = STORE_FACTORIES[request.param](tmp_path_factory.mktemp(request.param))
    sup = Supervisor.start(store, workers=0, clock=ManualClock(T0))
    try:
        yield Node(sup, request.param)
    finally:
        sup.stop()


def on_every_store(**strategies: Any) -> Any:
    """``@given(**strategies)`` twice: on memory and SQLite with the profile's case count, and on
    PostgreSQL with ``PG_WEIGHT`` of it. Returns the two tests (assign both to module names)."""

    def build(body: Any) -> tuple[Any, Any]:
        local = pytest.mark.parametrize("node", ["memory", "sqlite"], indirect=True)(
            fuzz_settings()(given(**strategies)(body)))
        remote = pytest.mark.parametrize("node", [pytest.param("postgres", marks=pytest.mark.postgres)],
                                         indirect=True)(fuzz_settings(PG_WEIGHT)(given(**strategies)(body)))
        return local, remote

    return build


def refused(exc: ValidationError) -> None:
    """A ``ValidationError`` must name the field it refused, first in its message."""
    event(f"refused: {exc.field.split('[')[0]}")
    assert isinstance(exc.field, str) and exc.field, exc
    assert str(exc).startswith(exc.field), exc


def secs(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def expected_fields(name: str, kwargs: Mapping[str, Any], now: float) -> dict[str, Any]:
    """What ``get_task`` must return for an accepted ``create_task(name, **kwargs)``."""
    meta = json.loads(json.dumps(kwargs.get("metadata") or {}))
    interval = None if kwargs.get("update_interval") is None else secs(kwargs["update_interval"])
    if interval is None and "updateInterval" in meta and meta["updateInterval"] is not None:
        interval = meta["updateInterval"] / 1000.0
    if kwargs.get("run_at") is not None:
        due = to_timestamp(kwargs["run_at"])
    elif kwargs.get("delay") is not None:
        due = now + secs(kwargs["delay"])
    else:
        due = now + (interval or 0.0)
    failures = kwargs.get("max_failures")
    raw = meta.get("maxFailures", 0)
    if failures is None and "maxFailures" in meta and (raw is None or type(raw) is int):
        # (a create refuses any other maxFailures; an update case compares only the fields it changed)
        failures = -1 if raw is None else raw
    failures = 5 if failures is None else (-1 if failures <= 0 else failures)
    given_retry = kwargs.get("retry")
    out = {
        "name": name, "description": kwargs.get("description", ""), "status": TaskStatus.PENDING,
        "tags": tuple(dict.fromkeys(kwargs.get("tags", ()))), "metadata": meta,
        "priority": kwargs.get("priority") or "normal", "run_at": from_timestamp(due),
        "update_interval": interval, "max_attempts": kwargs.get("max_attempts"), "max_failures": failures,
        "timeout": None if kwargs.get("timeout") is None else secs(kwargs["timeout"]),
        "retry": None if given_retry is None else Retry(**given_retry).to_dict(),
        "idempotency_key": kwargs.get("idempotency_key"), "attempts": 0,
        "created_at": from_timestamp(now),
    }
    for key in ("queue", "room_id", "world_id", "entity_id"):
        out[key] = None if kwargs.get(key) is None else str(kwargs[key])
    return out


def check_round_trip(node: Node, task_id: str, name: str, kwargs: Mapping[str, Any], now: float) -> None:
    task = node.sup.get_task(task_id)
    assert task is not None
    key = kwargs.get("idempotency_key")
    if key is not None and node.keys.get(key, task_id) != task_id:
        pytest.fail(f"idempotency key {key!r} gave {task_id}, first create gave {node.keys[key]}")
    if "id" in kwargs and kwargs["id"] is not None:
        assert task_id == str(kwargs["id"])
    for name_, value in expected_fields(name, kwargs, now).items():
        assert getattr(task, name_) == value, (name_, getattr(task, name_), value)


# --- create_task / create_tasks ----------------------------------------------------------------


def create_task_case(node: Node, name: Any, kwargs: dict[str, Any], unknown: dict[str, Any]) -> None:
    _create_case(node, name, {**kwargs, **unknown})


test_create_task, test_create_task_postgres = on_every_store(
    name=st.one_of(hs.names, hs.anything), kwargs=hs.create_kwargs, unknown=hs.unknown_kwargs)(create_task_case)


def _create_case(node: Node, name: Any, kwargs: dict[str, Any]) -> None:
    before = node.counts()
    key = kwargs.get("idempotency_key")
    known = node.keys.get(key) if isinstance(key, str) else None
    try:
        task_id = node.sup.create_task(name, **kwargs)
    except ValidationError as exc:
        refused(exc)
        assert node.counts() == before, "a refused create stored something"
        return
    after = node.counts()
    if known is not None:
        assert task_id == known and after == before, "an idempotency key hit stored a new task"
        return
    assert sum(after.values()) == sum(before.values()) + 1
    event("accepted")
    check_round_trip(node, task_id, name, kwargs, node.sup.clock.now())
    if key is not None:
        node.keys[key] = task_id


specs = st.one_of(
    st.builds(lambda name, kwargs: {"name": name, **kwargs}, hs.names, hs.create_kwargs),
    st.builds(lambda kwargs: dict(kwargs), hs.create_kwargs),  # no name
    st.builds(lambda name, kwargs: TaskSpec(name=name, **kwargs), hs.names, hs.create_kwargs),
    hs.anything,
)


def create_tasks_case(node: Node, batch: Any) -> None:
    before = node.counts()
    try:
        ids = node.sup.create_tasks(batch)
    except ValidationError as exc:
        refused(exc)
        assert node.counts() == before, "a refused batch stored something"
        return
    event(f"accepted {len(ids)}")
    stored = node.sup.store.get_many(ids)
    assert set(ids) <= set(stored)
    assert sum(node.counts().values()) - sum(before.values()) == len(set(ids) - set(node.keys.values()))
    for spec, task_id in zip(batch, ids, strict=True):
        fields = dict(vars(spec)) if isinstance(spec, TaskSpec) else dict(spec)
        key = fields.get("idempotency_key")
        if key is not None and key in node.keys:
            assert task_id == node.keys[key]
            continue
        name = fields.pop("name")
        check_round_trip(node, task_id, name, fields, node.sup.clock.now())
        if key is not None:
            node.keys[key] = task_id


test_create_tasks, test_create_tasks_postgres = on_every_store(
    batch=st.one_of(st.lists(specs, max_size=4), hs.anything))(create_tasks_case)


# --- update_task -------------------------------------------------------------------------------


update_changes = st.fixed_dictionaries({}, optional={
    name: strategy for name, strategy in hs.FIELDS.items() if name in UPDATABLE_FIELDS})


def update_task_case(node: Node, changes: dict[str, Any], unknown: dict[str, Any],
                                        missing: bool) -> None:
    task_id = node.sup.create_task("EMAIL", tags=["base"], metadata={"base": 1})
    target = str(uuid.uuid4()) if missing else task_id
    before = node.sup.get_task(task_id)
    counts = node.counts()
    try:
        updated = node.sup.update_task(target, **changes, **unknown)
    except ValidationError as exc:
        refused(exc)
        assert node.sup.get_task(task_id) == before, "a refused update changed the task"
        assert node.counts() == counts
        return
    except TaskNotFound:
        assert missing, "update of an existing task raised TaskNotFound"
        assert node.counts() == counts
        return
    assert not missing and not unknown, "an unknown id or field was accepted"
    event("accepted")
    assert updated == node.sup.get_task(task_id), "update_task returned something else than it stored"
    assert (updated.id, updated.name, updated.status) == (before.id, before.name, before.status)
    want = expected_fields("EMAIL", {**changes}, node.sup.clock.now())
    for name in changes:
        if name == "run_at" and "update_interval" in changes:
            continue  # moving the interval may move the due time: not this test's contract
        if name == "priority" and changes[name] is None:
            continue
        if name == "max_failures" and changes[name] is None:
            # an update's None is the default; only a create falls back to metadata.maxFailures
            assert updated.max_failures == 5, updated.max_failures
            continue
        assert getattr(updated, name) == want[name], (name, getattr(updated, name), want[name])


test_update_task, test_update_task_postgres = on_every_store(
    changes=update_changes, missing=st.booleans(), unknown=st.dictionaries(
        st.sampled_from(["name", "status", "attempts", "id", "result", "idempotency_key", "delay", "bogus"]),
        hs.anything, max_size=1))(update_task_case)


# --- get_tasks ---------------------------------------------------------------------------------


statuses = st.one_of(st.none(), st.sampled_from(list(TaskStatus)), st.sampled_from([s.value for s in TaskStatus]),
                     st.lists(st.sampled_from([s.value for s in TaskStatus]), max_size=3), hs.anything)


def get_tasks_case(node: Node, filters: dict[str, Any]) -> None:
    counts = node.counts()
    try:
        tasks = node.sup.get_tasks(**filters)
    except ValidationError as exc:
        refused(exc)
        return
    finally:
        assert node.counts() == counts
    assert all(isinstance(task, Task) for task in tasks)
    if filters.get("limit") is not None:
        assert len(tasks) <= filters["limit"]
    for task in tasks:
        for key in ("room_id", "world_id", "entity_id", "name"):
            if filters.get(key) is not None:
                assert getattr(task, key) == str(filters[key])
        assert set(filters.get("tags") or ()) <= set(task.tags)
        status = filters.get("status")
        if status:
            wanted = [status] if isinstance(status, (str, TaskStatus)) else status
            assert task.status in {TaskStatus(value) for value in wanted}


test_get_tasks, test_get_tasks_postgres = on_every_store(filters=st.fixed_dictionaries({}, optional={
    "room_id": hs.optional_ids, "world_id": hs.optional_ids, "entity_id": hs.optional_ids,
    "tags": st.one_of(st.lists(hs.texts, max_size=3), hs.texts, hs.anything), "name": st.one_of(hs.names, hs.anything),
    "status": statuses, "limit": st.one_of(st.none(), hs.ints, hs.anything)}))(get_tasks_case)


def calls_by_id_case(node: Node, task_id: Any) -> None:
    counts = node.counts()
    for call in (node.sup.get_task, node.sup.delete_task, node.sup.pause_task, node.sup.resume_task,
                 node.sup.cancel_task, node.sup.logs):
        try:
            answer = call(task_id)
        except ValidationError as exc:
            refused(exc)
        except TaskNotFound:
            pass
        else:
            assert answer in (None, False, []), (call, answer)
    assert node.counts() == counts


test_calls_by_id, test_calls_by_id_postgres = on_every_store(
    task_id=st.one_of(hs.texts, hs.anything))(calls_by_id_case)


# --- schedules ---------------------------------------------------------------------------------


def schedule_case(node: Node, name: Any, cron: Any, every: Any, key: Any,
                                    fields: dict[str, Any]) -> None:
    before = node.sup.get_schedules()
    counts = node.counts()
    try:
        made = node.sup.schedule(name, cron=cron, every=every, key=key, **fields)
    except ValidationError as exc:
        refused(exc)
        assert node.sup.get_schedules() == before, "a refused schedule was stored"
        return
    finally:
        assert node.counts() == counts
    event("accepted")
    assert made.key == (name if key is None else key)
    assert made in node.sup.get_schedules()
    if every is not None:
        assert made.every == secs(every)
    assert node.sup.delete_schedule(made.key)


test_schedule, test_schedule_postgres = on_every_store(
    name=st.one_of(hs.names, hs.anything), cron=st.one_of(st.none(), hs.cron_texts),
    every=st.one_of(st.none(), hs.durations, hs.anything), key=st.one_of(st.none(), hs.texts, hs.anything),
    fields=st.fixed_dictionaries({}, optional={
        name: hs.FIELDS[name] for name in ("metadata", "priority", "tags", "delay", "max_attempts")}))(schedule_case)


# --- pure values: TaskWorker, Retry, Cron ------------------------------------------------------


def _noop(ctx: Any, options: Any, task: Any) -> None:
    return None


@fuzz_settings(2.0)
@given(name=st.one_of(hs.names, hs.anything), execute=st.one_of(st.just(_noop), hs.anything),
       options=st.fixed_dictionaries({}, optional={
           "validate": st.one_of(st.none(), st.just(_noop), hs.anything),
           "retry": st.one_of(st.none(), st.just(Retry()), hs.anything), "timeout": hs.FIELDS["timeout"],
           "queue": hs.FIELDS["queue"], "priority": hs.priorities,
           "isolation": st.one_of(st.sampled_from(["process", "thread", "inline"]), hs.anything)}))
def test_task_worker_options(name: Any, execute: Any, options: dict[str, Any]) -> None:
    try:
        worker = TaskWorker(name, execute, **options)
    except ValidationError as exc:
        refused(exc)
        return
    assert worker.name == name and callable(worker.execute)
    assert worker.queue is None or (isinstance(worker.queue, str) and worker.queue)
    assert worker.timeout is None or (isinstance(worker.timeout, float) and 0 < worker.timeout < math.inf)


@fuzz_settings(2.0)
@given(kwargs=st.dictionaries(st.sampled_from(["max_attempts", "factor", "min_delay", "max_delay", "jitter"]),
                              st.one_of(hs.ints, hs.floats, hs.anything), max_size=5),
       attempt=st.one_of(st.integers(1, 100), st.integers(1, 10**9)))
def test_retry_options_and_delays(kwargs: dict[str, Any], attempt: int) -> None:
    try:
        policy = Retry(**kwargs)
    except ValidationError as exc:
        refused(exc)
        return
    for n in (1, 2, attempt):
        delay = policy.delay(n)
        assert 0 <= delay <= policy.max_delay, (n, delay)
        due = policy.retry_at(n, T0)
        assert due is None or from_timestamp(due) > datetime(2000, 1, 1).astimezone()


@fuzz_settings(2.0)
@given(text=hs.cron_texts, when=st.one_of(st.floats(-2e10, 2e11), st.integers(0, 4_000_000_000)))
def test_cron_parse_and_next(text: Any, when: float) -> None:
    try:
        cron = Cron.parse(text)
    except ValidationError as exc:
        refused(exc)
        return
    fire = cron.next_after(when)
    assert fire > when and fire == int(fire)
    assert Cron.parse(cron.expression) == cron
