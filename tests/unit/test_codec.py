"""The SQL stores' row codec: ``to_task`` gives back, field for field, the ``Task`` that
``task_row`` encoded, built as ``Task(...)`` would build it (it skips ``Task.__init__``)."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import datetime, timezone

import pytest

from actors.models import Task, TaskStatus
from actors.storage.sql.codec import TASK_COLUMNS, task_row, to_task

_AT = datetime(2026, 12, 1, 12, 30, 15, 250_000, tzinfo=timezone.utc)

PLAIN = Task(id="t1", name="ADD", run_at=_AT, created_at=_AT, updated_at=_AT, metadata={"a": 1, "b": 2})
FULL = Task(
    id="t2", name="SYNC", description="all of it", status=TaskStatus.FAILED, priority="high", queue="q",
    tags=("sync", "crm"), metadata={"nested": {"x": [1, 2.5, None]}}, room_id="r", world_id="w", entity_id="e",
    run_at=_AT, update_interval=60.0, attempts=3, failure_count=2, crash_count=1, progress=42.5,
    result={"synced": [1, 2]}, error="boom", created_at=_AT, updated_at=_AT, finished_at=_AT, max_attempts=4,
    max_failures=7, timeout=30.0, retry={"max_attempts": 3, "factor": 2.0}, idempotency_key="k",
    idempotency_expires_at=_AT, parent_id="p", concurrency_key="c", iteration=2, max_iterations=9,
    steps={"fetch": {"rows": 3}}, trace={"traceparent": "00-abc-def-01"},
)
EMPTY_JSON = Task(id="t3", name="X", status=TaskStatus.SUCCEEDED, tags=(), metadata={}, result=[], steps={},
                  retry={}, trace={}, finished_at=_AT)


def test_task_is_a_plain_frozen_dataclass_in_column_order() -> None:
    # to_task fills a new instance's __dict__ directly: that is only Task(...) while these hold
    assert tuple(field.name for field in dataclasses.fields(Task)) == TASK_COLUMNS
    assert not hasattr(Task, "__post_init__")
    assert "__slots__" not in vars(Task)
    assert all(field.init for field in dataclasses.fields(Task))


@pytest.mark.parametrize("task", [PLAIN, FULL, EMPTY_JSON], ids=["plain", "full", "empty-json"])
def test_a_row_decodes_to_the_task_it_encodes(task: Task) -> None:
    back = to_task(task_row(task))
    assert back == task
    assert vars(back) == vars(dataclasses.replace(task))  # same fields, nothing more
    assert type(back.status) is TaskStatus and type(back.tags) is tuple
    for name in ("run_at", "created_at", "updated_at", "finished_at", "idempotency_expires_at"):
        value = getattr(back, name)
        assert value == getattr(task, name)
        assert value is None or value.tzinfo is timezone.utc


def test_a_decoded_task_behaves_as_one_built_by_its_constructor() -> None:
    back = to_task(task_row(FULL))
    assert repr(back) == repr(FULL)
    assert pickle.loads(pickle.dumps(back)) == FULL
    assert dataclasses.replace(back, attempts=4).attempts == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        back.attempts = 5  # type: ignore[misc]


def test_decoded_json_values_are_fresh_objects() -> None:
    # the empty values skip the decoder: each task still gets its own dict / list
    first, second = to_task(task_row(EMPTY_JSON)), to_task(task_row(EMPTY_JSON))
    assert first.metadata == {} and first.metadata is not second.metadata
    assert first.steps is not second.steps and first.result is not second.result


def test_equal_times_share_one_datetime_within_a_row_and_across_a_read() -> None:
    # a task due at once has run_at == created_at; a claim's rows all have updated_at == its now
    now = Task(id="a", name="X", run_at=_AT, created_at=_AT, updated_at=_AT)
    later = dataclasses.replace(now, id="b", run_at=_AT.replace(second=59))
    alone = to_task(task_row(now))
    assert alone.run_at is alone.created_at is alone.updated_at
    times: dict[float, datetime] = {}
    first, second = to_task(task_row(now), times), to_task(task_row(later), times)
    assert (first, second) == (now, later)
    assert second.updated_at is first.updated_at and second.run_at is not first.run_at
    assert sorted(times) == sorted({_AT.timestamp(), later.run_at.timestamp()})  # type: ignore[union-attr]
