"""The task row codec shared by the SQL stores (SQLite and PostgreSQL): stdlib only.

A ``Task`` travels to a row as ``task_row`` (JSON text for tags, metadata, result,
retry, steps and trace; the priority as its rank 0 = high; times as epoch seconds) and back
as ``to_task``. Nothing read back is unpickled: the columns hold JSON only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...clock import from_timestamp, to_timestamp
from ...models import PRIORITIES, Task, TaskStatus
from ...spec import check_priority_name, check_storable, check_update, json_text, required_time

__all__ = [
    "ALL_STATUSES", "AT_ATTEMPTS", "AT_STATUS", "AT_UPDATED", "FINISHED", "RUNNING_VALUE", "TASK_COLUMNS",
    "dumps", "load", "rank", "required_time", "task_row", "to_task", "update_columns",
]

#: Columns of ``tasks`` read back into a ``Task``, in ``Task`` field order.
TASK_COLUMNS: tuple[str, ...] = (
    "id", "name", "description", "status", "priority", "queue", "tags", "metadata",
    "room_id", "world_id", "entity_id", "run_at", "update_interval", "attempts",
    "failure_count", "crash_count", "progress", "result", "error", "created_at",
    "updated_at", "finished_at", "max_attempts", "max_failures", "timeout", "retry",
    "idempotency_key", "idempotency_expires_at", "parent_id", "concurrency_key",
    "iteration", "max_iterations", "steps", "trace",
)

FINISHED = ("succeeded", "failed", "cancelled")
# Every status value: "status IN (all)" lets a name-only query use tasks_claim.
ALL_STATUSES = tuple(status.value for status in TaskStatus)
_DECODE = json.JSONDecoder().decode
_STATUS = {status.value: status for status in TaskStatus}
RUNNING_VALUE = TaskStatus.RUNNING.value
# Positions in a TASK_COLUMNS row that claim patches after its UPDATE.
AT_STATUS, AT_ATTEMPTS, AT_UPDATED = (TASK_COLUMNS.index(c) for c in ("status", "attempts", "updated_at"))


#: JSON text as the stores keep it (``spec.json_text``: ``ValidationError`` naming the field).
dumps = json_text


def load(text: str) -> Any:
    """The value of JSON ``text`` (the common small values skip the decoder)."""
    if text == "null":
        return None
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return _DECODE(text)


def _ts(value: Any) -> float | None:
    return None if value is None else to_timestamp(value)


def rank(priority: object) -> int:
    """The stored rank of a priority name (0 = high); ``ValidationError`` for anything else."""
    return PRIORITIES.index(check_priority_name(priority))


def task_row(task: Task) -> tuple[Any, ...]:
    """The INSERT parameters for ``task`` (in ``TASK_COLUMNS`` order), validated."""
    status = check_storable(task)
    return (
        task.id, task.name, task.description, status.value, rank(task.priority), task.queue,
        dumps("tags", list(task.tags)), dumps("metadata", dict(task.metadata)), task.room_id,
        task.world_id, task.entity_id, _ts(task.run_at), task.update_interval, task.attempts,
        task.failure_count, task.crash_count, task.progress, dumps("result", task.result),
        task.error, _ts(task.created_at), _ts(task.updated_at), _ts(task.finished_at),
        task.max_attempts, task.max_failures, task.timeout,
        None if task.retry is None else dumps("retry", dict(task.retry)), task.idempotency_key,
        _ts(task.idempotency_expires_at), task.parent_id, task.concurrency_key,
        task.iteration, task.max_iterations, dumps("steps", dict(task.steps)),
        None if task.trace is None else dumps("trace", dict(task.trace)),
    )


def to_task(row: Sequence[Any]) -> Task:
    """A ``Task`` from a row selected as ``TASK_COLUMNS``."""
    (task_id, name, description, status, priority, queue, tags, metadata, room_id, world_id,
     entity_id, run_at, update_interval, attempts, failure_count, crash_count, progress, result,
     error, created_at, updated_at, finished_at, max_attempts, max_failures, timeout, retry,
     key, key_expires, parent_id, concurrency_key, iteration, max_iterations, steps, trace) = row
    return Task(
        id=task_id, name=name, description=description, status=_STATUS[status],
        priority=PRIORITIES[priority], queue=queue, tags=tuple(load(tags)),
        metadata=load(metadata), room_id=room_id, world_id=world_id, entity_id=entity_id,
        run_at=from_timestamp(run_at), update_interval=update_interval, attempts=attempts,
        failure_count=failure_count, crash_count=crash_count, progress=progress,
        result=load(result), error=error, created_at=from_timestamp(created_at),
        updated_at=from_timestamp(updated_at), finished_at=from_timestamp(finished_at),
        max_attempts=max_attempts, max_failures=max_failures, timeout=timeout,
        retry=None if retry is None else load(retry), idempotency_key=key,
        idempotency_expires_at=from_timestamp(key_expires), parent_id=parent_id,
        concurrency_key=concurrency_key, iteration=iteration, max_iterations=max_iterations,
        steps=load(steps), trace=None if trace is None else load(trace),
    )


def update_columns(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for ``update``; ``ValidationError`` for an unknown or bad field."""
    out = check_update(changes)
    for field, value in out.items():
        if field in ("tags", "metadata"):
            out[field] = dumps(field, list(value) if field == "tags" else value)
        elif field == "retry":
            out[field] = None if value is None else dumps("retry", value)
        elif field == "priority":
            out[field] = rank(value)
    return out
