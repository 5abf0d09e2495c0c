"""How ``MemoryStore`` keeps a task: a ``Row`` in storage form (times as epoch seconds,
JSON as text), so what comes back never aliases what went in."""


from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ...clock import from_timestamp, to_timestamp
from ...models import Task, TaskStatus
from ...spec import check_priority_name, check_storable, json_text
from ..base import (
    check_update,
)

__all__ = ["Row", "check_priority", "dumps_json", "stored_changes"]


__all__ = ["Row", "check_priority", "dumps_json", "stored_changes"]

_TIME_FIELDS = frozenset({"run_at", "created_at", "updated_at", "finished_at", "idempotency_expires_at"})
_JSON_FIELDS = frozenset({"metadata", "result", "retry", "steps", "trace"})
_TASK_FIELDS = tuple(f.name for f in fields(Task))


#: JSON text as the stores keep it (``spec.json_text``).
dumps_json = json_text
#: A priority name, checked (``spec.check_priority_name``).
check_priority = check_priority_name


@dataclass
class Row:
    """One stored task: ``Task`` fields in storage form plus the lease."""

    seq: int
    values: dict[str, Any]  # Task field -> stored value (times as floats, JSON as text)
    owner: str | None = None
    token: str | None = None
    lease_expires_at: float | None = None
    pause_requested: bool = False
    last_run_at: float | None = None  # when the last attempt ended (``finish``)

    @classmethod
    def from_task(cls, seq: int, task: Task) -> Row:
        status = check_storable(task)
        values: dict[str, Any] = {name: getattr(task, name) for name in _TASK_FIELDS}
        values["status"] = status
        values["priority"] = check_priority(task.priority)
        values["tags"] = tuple(task.tags)
        dumps_json("tags", list(task.tags))
        for name in _TIME_FIELDS:
            values[name] = None if values[name] is None else to_timestamp(values[name])
        values["metadata"] = dumps_json("metadata", dict(task.metadata))
        values["result"] = dumps_json("result", task.result)
        values["retry"] = None if task.retry is None else dumps_json("retry", dict(task.retry))
        values["steps"] = dumps_json("steps", dict(task.steps))
        values["trace"] = None if task.trace is None else dumps_json("trace", dict(task.trace))
        return cls(seq, values)

    def task(self) -> Task:
        kwargs = dict(self.values)
        for name in _TIME_FIELDS:
            kwargs[name] = from_timestamp(kwargs[name])
        for name in _JSON_FIELDS:
            kwargs[name] = None if kwargs[name] is None else json.loads(kwargs[name])
        return Task(**kwargs)

    @property
    def status(self) -> TaskStatus:
        return TaskStatus(self.values["status"])

    def leave_running(self, status: TaskStatus, now: float) -> None:
        """Drop the lease and move to ``status`` (PAUSED instead of PENDING if requested)."""
        if status is TaskStatus.PENDING and self.pause_requested:
            status = TaskStatus.PAUSED
        self.values["status"] = status
        self.values["finished_at"] = now if status.finished else None
        self.values["updated_at"] = now
        self.owner = self.token = self.lease_expires_at = None
        self.pause_requested = False


def stored_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` changes in storage form; ``ValidationError`` for an unknown or bad field."""
    out = check_update(changes)
    for field in ("metadata", "retry"):
        if out.get(field) is not None:
            out[field] = dumps_json(field, out[field])
    return out

