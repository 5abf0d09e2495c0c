"""The checks a request to the supervisor passes, shared by the handle and the actor.

``Supervisor`` (the handle) runs them in the caller's thread; the supervisor actor
runs the same ones for the typed messages of ``actors.messages`` asked directly
(``CreateTask``, ``UpdateTask``, ``GetTasks``), so asking the actor's ``ActorRef``
never skips a check. Each raises ``ValidationError`` naming the field and value;
nothing is stored. Pure: the time and the worker are arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import ValidationError
from .models import TaskStatus
from .spec import (
    DEFAULT_MAX_FAILURES,
    MAX_INT,
    SPEC_FIELDS,
    TaskSpec,
    check_json,
    check_priority,
    check_retry,
    check_run_at,
    check_tags,
    check_text,
    interval_from_metadata,
    optional_str,
    seconds,
)
from .storage.base import UPDATABLE_FIELDS, TaskQuery

__all__ = ["check_changes", "check_create_fields", "check_specs", "task_query"]


def check_create_fields(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """``create_task``'s keywords, refused (``ValidationError`` naming the first) if one is unknown."""
    if SPEC_FIELDS.issuperset(fields):
        return fields
    unknown = sorted((key for key in fields if key not in SPEC_FIELDS), key=repr)
    raise ValidationError(unknown[0], fields[unknown[0]], "is not a keyword of create_task")


def check_specs(specs: object) -> list[Any]:
    """``create_tasks``' argument as a list (each item is checked by ``coerce_spec``)."""
    if isinstance(specs, (str, bytes, Mapping, TaskSpec)) or not isinstance(specs, Iterable):
        raise ValidationError("specs", specs, "must be a list of dicts or actors.TaskSpec")
    return list(specs)


def task_query(*, room_id: str | None = None, world_id: str | None = None, entity_id: str | None = None,
               tags: Sequence[str] | None = None, name: str | None = None,
               status: TaskStatus | str | Sequence[TaskStatus | str] | None = None,
               limit: int | None = None, queue: str | None = None, parent_id: str | None = None,
               offset: int = 0) -> TaskQuery:
    """The ``TaskQuery`` of ``get_tasks``' keyword filters.

    Raises:
        ValidationError: an unknown status, a ``limit`` or ``offset`` that is not an int >= 0, or
            a filter that is not a string (each named).
    """
    if isinstance(status, (str, TaskStatus)):
        status = [status]
    elif status is not None and (isinstance(status, (bytes, Mapping)) or not isinstance(status, Iterable)):
        raise ValidationError("status", status, "must be a task status or a list of them")
    statuses: list[TaskStatus] = []
    for value in status or ():
        try:
            statuses.append(TaskStatus(value))
        except ValueError:
            raise ValidationError("status", value, "unknown task status") from None
    for field, number in (("limit", limit), ("offset", offset)):
        if number is not None and (isinstance(number, bool) or not isinstance(number, int)
                                   or not 0 <= number <= MAX_INT):
            raise ValidationError(field, number, f"must be an int >= 0 and <= {MAX_INT}")
    if tags is not None and (isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable)):
        raise ValidationError("tags", tags, "must be a list of strings")
    return TaskQuery(room_id=optional_str("room_id", room_id), world_id=optional_str("world_id", world_id),
                     entity_id=optional_str("entity_id", entity_id),
                     tags=tuple(check_text("tags", tag) for tag in tags or ()),
                     name=None if name is None else check_text("name", name), status=tuple(statuses), limit=limit,
                     queue=optional_str("queue", queue), parent_id=optional_str("parent_id", parent_id),
                     offset=0 if offset is None else offset)


def check_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``update_task``'s changes, checked, in the form ``TaskStore.update`` takes.

    The seeds' ``metadata={"updateInterval": ms}`` sets ``update_interval`` too (in
    seconds) unless ``update_interval`` is given.

    Raises:
        ValidationError: an unknown or read-only field, or a bad value (named).
    """
    if not isinstance(changes, Mapping):
        raise ValidationError("changes", changes, "must be a dict of field names to values")
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in UPDATABLE_FIELDS:
            raise ValidationError(field, value, "cannot be updated (unknown or read-only field)")
        clean[field] = _check_change(field, value)
    if "update_interval" not in clean and "metadata" in clean:
        interval = interval_from_metadata(clean["metadata"])
        if interval is not None:
            clean["update_interval"] = interval
    return clean


def _check_change(field: str, value: Any) -> Any:
    """Validate one ``update_task`` field; returns the stored form."""
    if field == "metadata":
        return check_json("metadata", value)
    if field == "priority":
        return check_priority(value)
    if field == "run_at":
        if value is None:
            raise ValidationError("run_at", value, "must be a datetime")
        return check_run_at(value)
    if field == "update_interval":
        return seconds("update_interval", value, allow_zero=False)
    if field == "timeout":
        return seconds("timeout", value, allow_zero=False)
    if field in ("max_attempts", "max_failures"):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError(field, value, "must be an int")
        if value is not None and value > MAX_INT:
            raise ValidationError(field, value, f"must be at most {MAX_INT}")
        if field == "max_attempts" and value is not None and value < 1:
            raise ValidationError(field, value, "must be >= 1")
        if field == "max_failures" and value is None:
            return DEFAULT_MAX_FAILURES  # as at create; the column is NOT NULL in the SQL stores
        if field == "max_failures" and value is not None and value <= 0:
            return -1
        return value
    if field == "description":
        return check_text("description", value)
    if field == "tags":
        return check_tags(value)
    if field == "retry":
        return check_retry(value)
    return optional_str(field, value)  # queue, room_id, world_id, entity_id: the checks of create_task
