"""The creator's trace context (``Task.trace``, OpenTelemetry's W3C carrier), against every store:
stored with the task as JSON, read back by every read and claim, kept across attempt ends, never
updatable; a value that is not JSON is refused with nothing stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from actors.errors import ValidationError
from actors.models import Task, TaskStatus
from actors.storage.base import Continuation, Finish, TaskQuery, TaskStore

T0 = 1_700_000_000.0
LEASE = 30.0
MakeTask = Callable[..., Task]
CARRIER = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "congo=t61rcWkgMzE"}


def test_a_trace_round_trips_through_get_query_and_claim(store: TaskStore, make_task: MakeTask) -> None:
    traced, plain = make_task(name="TRACED", trace=CARRIER), make_task(name="TRACED")
    store.add([traced, plain])
    got = store.get(traced.id)
    assert got is not None and got.trace == CARRIER
    none = store.get(plain.id)
    assert none is not None and none.trace is None
    assert {task.id: task.trace for task in store.query(TaskQuery(name="TRACED"))} == {
        traced.id: CARRIER, plain.id: None}
    claims = store.claim(["TRACED"], 2, T0 + 1, "node-a", LEASE)
    assert {claim.task.id: claim.task.trace for claim in claims} == {traced.id: CARRIER, plain.id: None}


def test_the_trace_stays_across_a_retry_and_an_iteration(store: TaskStore, make_task: MakeTask) -> None:
    task = make_task(name="TRACED", trace=CARRIER)
    store.add([task])
    [claim] = store.claim(["TRACED"], 1, T0 + 1, "node-a", LEASE)
    assert store.finish([Finish(task.id, claim.token, TaskStatus.PENDING, run_at=T0 + 2, error="E: x")],
                        T0 + 1) == [task.id]
    [claim] = store.claim(["TRACED"], 1, T0 + 2, "node-a", LEASE)
    assert claim.task.trace == CARRIER
    assert store.continue_tasks([Continuation(task.id, claim.token, T0 + 3, None)], T0 + 2) == [task.id]
    [claim] = store.claim(["TRACED"], 1, T0 + 3, "node-a", LEASE)
    assert (claim.task.iteration, claim.task.trace) == (2, CARRIER)


def test_a_trace_that_is_not_json_is_refused_and_nothing_stored(store: TaskStore, make_task: MakeTask) -> None:
    bad = dataclasses.replace(make_task(name="TRACED"), trace={"traceparent": object()})  # past create's checks
    with pytest.raises(ValidationError) as caught:
        store.add([bad])
    assert caught.value.field.startswith("trace")
    assert store.get(bad.id) is None


def test_the_trace_is_not_an_updatable_field(store: TaskStore, make_task: MakeTask) -> None:
    task = make_task(name="TRACED", trace=CARRIER)
    store.add([task])
    with pytest.raises(ValidationError):
        store.update(task.id, {"trace": None}, T0 + 1)
    got = store.get(task.id)
    assert got is not None and got.trace == CARRIER
