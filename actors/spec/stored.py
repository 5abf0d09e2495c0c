"""The checks a store applies to what it is given: the fields ``TaskStore.update`` takes,
the statuses a task may be added or finished in, the JSON text the SQL stores keep, the
words of a search. Each store calls these (one home per check); they raise
``ValidationError`` naming the field and value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..clock import to_timestamp
from ..errors import ValidationError
from ..models import Task, TaskStatus
from .values import _tags, check_priority_name

__all__ = [
    "UPDATABLE_FIELDS",
    "check_finish_status",
    "check_search",
    "check_storable",
    "check_tags",
    "check_update",
    "distinct_ids",
    "required_time",
    "words",
]


#: Fields ``TaskStore.update`` accepts (``run_at`` as epoch seconds).
UPDATABLE_FIELDS = frozenset({
    "description", "tags", "metadata", "priority", "queue", "room_id", "world_id", "entity_id", "run_at",
    "update_interval", "max_attempts", "max_failures", "timeout", "retry"})



def distinct_ids(tasks: Sequence[Task]) -> list[str]:
    """The tasks' ids in order; ``ValidationError`` naming the first id given twice."""
    ids = [task.id for task in tasks]
    if len(set(ids)) != len(ids):
        twice = next(task_id for task_id in ids if ids.count(task_id) > 1)
        raise ValidationError("id", twice, "appears twice in the batch")
    return ids


#: Tags as a tuple of distinct non-empty strings in order, or ValidationError (build_task's check).
check_tags = _tags


def required_time(field_name: str, value: datetime | None) -> float:
    """Epoch seconds of a datetime that must be set; ``ValidationError`` naming the field if None."""
    if value is None:
        raise ValidationError(field_name, None, "is required")
    return to_timestamp(value)


def check_storable(task: Task) -> TaskStatus:
    """The status of a task a store may insert (not RUNNING; unfinished needs ``run_at``)."""
    status = TaskStatus(task.status)
    if status is TaskStatus.RUNNING:
        raise ValidationError("status", status.value, "a task cannot be added RUNNING")
    if task.run_at is None and not status.finished:
        raise ValidationError("run_at", None, "an unfinished task needs run_at")
    return status


def check_finish_status(status: TaskStatus) -> TaskStatus:
    """The status an attempt ends in (anything but RUNNING); ``ValidationError`` otherwise."""
    if type(status) is not TaskStatus:  # a member passes as it is (once per attempt end)
        status = TaskStatus(status)
    if status is TaskStatus.RUNNING:
        raise ValidationError("status", status.value, "an attempt cannot finish RUNNING")
    return status


def check_update(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes of ``TaskStore.update`` in plain form (tags a tuple, metadata a dict, retry a
    dict or None, run_at a float); ``ValidationError`` naming an unknown field or a bad value.
    JSON-ness is checked when a store encodes the value (``json_text``)."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in UPDATABLE_FIELDS:
            raise ValidationError(name, value, f"cannot be updated (allowed: {sorted(UPDATABLE_FIELDS)})")
        if name == "tags":
            out[name] = check_tags(value)
        elif name == "metadata":
            if not isinstance(value, Mapping):
                raise ValidationError("metadata", value, "must be a dict")
            out[name] = dict(value)
        elif name == "retry":
            if value is not None and not isinstance(value, Mapping):
                raise ValidationError("retry", value, "must be a dict or None")
            out[name] = None if value is None else dict(value)
        elif name == "priority":
            out[name] = check_priority_name(value)
        elif name == "run_at":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValidationError("run_at", value, "must be epoch seconds")
            out[name] = float(value)
        else:
            out[name] = value
    return out


_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The lower-case words (letters and digits) of ``text``, once each: ``search``'s reading."""
    return list(dict.fromkeys(_WORD.findall(text.lower())))


def check_search(text: object, limit: object) -> tuple[list[str], int | None]:
    """The words of a ``TaskStore.search`` query and its limit; ``ValidationError`` naming
    ``text`` (not a string) or ``limit`` (not None or an int >= 0)."""
    if not isinstance(text, str):
        raise ValidationError("text", text, "must be a string")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError("limit", limit, "must be an int >= 0 or None")
    return words(text), limit
