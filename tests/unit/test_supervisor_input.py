"""Hostile input on the ``Supervisor`` handle, found by tests/fuzz: each call below used to raise
something outside ``actors.ActorsError`` (TypeError, OverflowError, UnicodeEncodeError, ValueError,
a StoreError for bad input) or to store a row nobody could read back. Now: a ``ValidationError``
naming the field, and nothing stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import actors
from actors.clock import ManualClock


@pytest.fixture(params=["memory", "sqlite"])
def sup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[actors.Supervisor]:
    store = "memory://" if request.param == "memory" else str(tmp_path / "tasks.db")
    with actors.Supervisor.start(store, workers=0, clock=ManualClock()) as node:
        yield node


CALLS: list[tuple[str, Callable[[actors.Supervisor, str], Any], str]] = [
    ("unknown keyword", lambda s, t: s.create_task("A", bogus=1), "bogus"),
    ("specs None", lambda s, t: s.create_tasks(None), "specs"),  # type: ignore[arg-type]
    ("id int", lambda s, t: s.create_task("A", id=123), "id"),
    ("id empty list", lambda s, t: s.create_task("A", id=[]), "id"),  # a falsy id was replaced by a fresh one
    ("id empty", lambda s, t: s.create_task("A", id=""), "id"),
    ("name surrogate", lambda s, t: s.create_task("A\ud800"), "name"),
    ("max_attempts 2**31", lambda s, t: s.create_task("A", max_attempts=2**31), "max_attempts"),
    ("delay 1e300", lambda s, t: s.create_task("A", delay=1e300), "delay"),
    ("run_at max", lambda s, t: s.create_task("A", run_at=datetime.max), "run_at"),
    ("status True", lambda s, t: s.get_tasks(status=True), "status"),  # type: ignore[arg-type]
    ("tags str", lambda s, t: s.get_tasks(tags="abc"), "tags"),
    ("room_id int", lambda s, t: s.get_tasks(room_id=5), "room_id"),  # type: ignore[arg-type]
    ("limit huge", lambda s, t: s.get_tasks(limit=10**30), "limit"),
    ("filter surrogate", lambda s, t: s.get_tasks(name="\ud800"), "name"),
    ("get_task int", lambda s, t: s.get_task(5), "task_id"),  # type: ignore[arg-type]
    ("get_task surrogate", lambda s, t: s.get_task("\ud800"), "task_id"),
    ("cancel surrogate", lambda s, t: s.cancel_task("\udfff"), "task_id"),
    ("update run_at max", lambda s, t: s.update_task(t, run_at=datetime.max), "run_at"),
    ("update max_attempts", lambda s, t: s.update_task(t, max_attempts=2**40), "max_attempts"),
    ("update interval", lambda s, t: s.update_task(t, update_interval=1e300), "update_interval"),
    ("schedule every", lambda s, t: s.schedule("A", every=1e300), "every"),
    ("schedule key", lambda s, t: s.schedule("A", every=60, key="k\ud800"), "key"),
]


@pytest.mark.parametrize(("label", "call", "field"), CALLS, ids=[label for label, _, _ in CALLS])
def test_hostile_input_is_refused_naming_the_field(sup: actors.Supervisor, label: str,
                                                   call: Callable[[actors.Supervisor, str], Any],
                                                   field: str) -> None:
    task_id = sup.create_task("BASE")
    before, task = sup.store.counts(), sup.get_task(task_id)
    with pytest.raises(actors.ValidationError) as info:
        call(sup, task_id)
    assert info.value.field == field
    assert sup.store.counts() == before and sup.get_task(task_id) == task
    assert sup.get_schedules() == []


def test_update_max_failures_none_restores_the_default(sup: actors.Supervisor) -> None:
    # SQLite: "NOT NULL constraint failed: tasks.max_failures" as a StoreError; memory stored None
    task_id = sup.create_task("A", max_failures=2)
    assert sup.update_task(task_id, max_failures=None).max_failures == 5
    assert sup.get_task(task_id).max_failures == 5  # type: ignore[union-attr]


def test_worker_queue_is_checked() -> None:
    with pytest.raises(actors.ValidationError) as info:  # a queue of 5 was stored as 5 or '5'
        actors.TaskWorker("A", lambda ctx, options, task: None, queue=5)  # type: ignore[arg-type]
    assert info.value.field == "queue"


def test_worker_queue_given_as_a_uuid_is_kept_as_text() -> None:
    import uuid

    worker = actors.TaskWorker("A", lambda ctx, options, task: None, queue=uuid.UUID(int=7))  # type: ignore[arg-type]
    assert worker.queue == "00000000-0000-0000-0000-000000000007"
