"""The task row codec shared by the SQL stores (SQLite and PostgreSQL): stdlib only.

A ``Task`` travels to a row as ``task_row`` (JSON text for tags, metadata, result,
retry, steps and trace; the priority as its rank 0 = high; times as epoch seconds) and back
as ``to_task``. Nothing read back is unpickled: the columns hold JSON only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ...clock import to_timestamp
from ...models import PRIORITIES, Task, TaskStatus, direct_constructor
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
_OPTIONAL_JSON = ("retry", "trace")  # NULL stays None
_TIMES = ("run_at", "created_at", "updated_at", "finished_at", "idempotency_expires_at")  # epoch s -> aware UTC
_UTC = timezone.utc
_from_ts = datetime.fromtimestamp  # as ``clock.from_timestamp``, without its call
_new_task = direct_constructor(Task, adopt=True)  # a dict of every field becomes the Task's state
_STATUS = {status.value: status for status in TaskStatus}
_RANK = {name: at for at, name in enumerate(PRIORITIES)}
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
    """The INSERT parameters for ``task`` (in ``TASK_COLUMNS`` order), validated.

    Any ``Task`` may come here (the stores are public), so every check runs; the common values
    of a new task (PENDING with a ``run_at``, a priority name, no tags, result or steps, one
    creation time) take a shortcut to the same row.
    """
    status = task.status
    if status is not TaskStatus.PENDING or task.run_at is None:
        status = check_storable(task)
    priority = task.priority
    at = _RANK.get(priority) if priority.__class__ is str else None
    created_at, run_at, updated_at = task.created_at, task.run_at, task.updated_at
    created = _ts(created_at)
    tags, steps, result, retry, trace = task.tags, task.steps, task.result, task.retry, task.trace
    metadata = task.metadata
    return (
        task.id, task.name, task.description, status.value, rank(priority) if at is None else at, task.queue,
        "[]" if tags.__class__ is tuple and not tags else dumps("tags", list(tags)),
        dumps("metadata", metadata if metadata.__class__ is dict else dict(metadata)), task.room_id,
        task.world_id, task.entity_id,
        created if run_at is created_at else _ts(run_at), task.update_interval, task.attempts,
        task.failure_count, task.crash_count, task.progress, "null" if result is None else dumps("result", result),
        task.error, created, created if updated_at is created_at else _ts(updated_at), _ts(task.finished_at),
        task.max_attempts, task.max_failures, task.timeout, None if retry is None else dumps("retry", dict(retry)),
        task.idempotency_key, _ts(task.idempotency_expires_at), task.parent_id, task.concurrency_key,
        task.iteration, task.max_iterations,
        "{}" if steps.__class__ is dict and not steps else dumps("steps", dict(steps)),
        None if trace is None else dumps("trace", dict(trace)),
    )


def to_task(row: Sequence[Any], times: dict[float, datetime] | None = None) -> Task:
    """A ``Task`` from a row selected as ``TASK_COLUMNS``.

    The hot path of every claim (one call per claimed row): the decoded fields become the new
    ``Task``'s state as they are (``models.direct_constructor``: no frozen ``__setattr__`` per
    field; ``TASK_COLUMNS`` is in field order, the unit tests hold that); the common empty
    JSON values skip the decoder (``load``).

    ``times``: epoch seconds -> ``datetime`` already made, shared by the rows of one read
    (a claim's rows all have ``updated_at`` = its ``now``): equal times share one (immutable)
    ``datetime``, made once, and pickled once per message to a pool child. Within a row they
    are shared anyway (``run_at`` = ``created_at`` for a task due at once).
    """
    fields = dict(zip(TASK_COLUMNS, row, strict=True))
    fields["status"] = _STATUS[fields["status"]]
    fields["priority"] = PRIORITIES[fields["priority"]]
    tags = fields["tags"]
    fields["tags"] = () if tags == "[]" else tuple(_DECODE(tags))
    fields["metadata"] = load(fields["metadata"])
    fields["result"] = load(fields["result"])
    fields["steps"] = load(fields["steps"])
    for name in _OPTIONAL_JSON:
        if fields[name] is not None:
            fields[name] = load(fields[name])
    made = {} if times is None else times
    for name in _TIMES:
        seconds = fields[name]
        if seconds is not None:
            at = made.get(seconds)
            if at is None:
                at = made[seconds] = _from_ts(seconds, _UTC)
            fields[name] = at
    return _new_task(fields)


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
