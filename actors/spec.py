"""What a caller may ask for when creating a task, and the checks it must pass.

``build_task`` turns the keyword arguments of ``create_task`` into a ``Task`` or
raises ``ValidationError`` naming the first bad field and its value. It is pure:
the id and the time are arguments.
"""

from __future__ import annotations

import json
import math
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from .clock import from_timestamp, to_timestamp
from .errors import ValidationError
from .models import PRIORITIES, Task, TaskStatus
from .retry import Retry

__all__ = [
    "UPDATABLE_FIELDS",
    "TaskSpec",
    "build_task",
    "check_finish_status",
    "check_json",
    "check_priority_name",
    "check_search",
    "check_storable",
    "check_tags",
    "check_update",
    "coerce_spec",
    "distinct_ids",
    "interval_from_metadata",
    "json_text",
    "required_time",
    "seconds",
    "words",
]

DEFAULT_MAX_FAILURES = 5
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class TaskSpec:
    """The keyword arguments of ``create_task``, as a value (for ``create_tasks``)."""

    name: str
    description: str = ""
    tags: Iterable[str] = ()
    metadata: Mapping[str, Any] | None = None
    room_id: str | None = None
    world_id: str | None = None
    entity_id: str | None = None
    priority: str | None = None
    queue: str | None = None
    run_at: datetime | None = None
    delay: float | timedelta | None = None
    update_interval: float | timedelta | None = None
    retry: Retry | Mapping[str, Any] | None = None
    max_attempts: int | None = None
    max_failures: int | None = None
    timeout: float | timedelta | None = None
    idempotency_key: str | None = None
    id: str | None = field(default=None, repr=False)


SPEC_FIELDS = frozenset(f.name for f in fields(TaskSpec))


def coerce_spec(spec: TaskSpec | Mapping[str, Any], index: int | None = None) -> TaskSpec:
    """A ``TaskSpec`` from a spec or a dict of ``create_task`` keyword names."""
    if isinstance(spec, TaskSpec):
        return spec
    where = "specs" if index is None else f"specs[{index}]"
    if not isinstance(spec, Mapping):
        raise ValidationError(where, spec, "must be a dict or an actors.TaskSpec")
    unknown = sorted(set(spec) - SPEC_FIELDS)
    if unknown:
        raise ValidationError(f"{where}.{unknown[0]}", spec[unknown[0]], "unknown field")
    if "name" not in spec:
        raise ValidationError(f"{where}.name", None, "is required")
    return TaskSpec(**spec)


def seconds(field_name: str, value: object, *, allow_zero: bool) -> float | None:
    """Float seconds from a number or timedelta; None stays None."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(field_name, value, "must be a number of seconds or a timedelta")
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(field_name, value, "must be finite")
    if number < 0 or (number == 0 and not allow_zero):
        raise ValidationError(field_name, value, "must be > 0" if not allow_zero else "must be >= 0")
    return number


def interval_from_metadata(metadata: Mapping[str, Any]) -> float | None:
    """The seeds' ``metadata["updateInterval"]`` (milliseconds) as seconds; None when absent.

    Raises:
        ValidationError: not a finite number of milliseconds > 0 (field
            ``metadata['updateInterval']``, the unit named).
    """
    if "updateInterval" not in metadata:
        return None
    ms = metadata["updateInterval"]
    if ms is None:
        return None
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not math.isfinite(ms) or ms <= 0:
        raise ValidationError("metadata['updateInterval']", ms,
                              "must be a finite number of milliseconds > 0")
    return float(ms) / 1000.0


_ENCODE = json.JSONEncoder(allow_nan=False).encode


def check_json(field_name: str, mapping: object) -> dict[str, Any]:
    """A plain dict that round-trips through JSON, or ValidationError naming the key."""
    if not isinstance(mapping, Mapping):
        raise ValidationError(field_name, mapping, "must be a dict")
    out = dict(mapping)
    for key in out:
        if not isinstance(key, str):
            raise ValidationError(field_name, key, "keys must be strings")
    try:
        _ENCODE(out)  # one pass over the whole dict; only a failure looks for the culprit
    except (TypeError, ValueError, RecursionError) as whole:
        for key, value in out.items():
            try:
                _ENCODE(value)
            except (TypeError, ValueError, RecursionError) as exc:
                raise ValidationError(f"{field_name}[{key!r}]", value, f"not JSON: {exc}") from None
        raise ValidationError(field_name, mapping, f"not JSON: {whole}") from None
    return out


def new_ids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, from one read of the OS's random source
    (``uuid.uuid4()`` reads it once per id, which costs more than the rest of a create)."""
    raw = os.urandom(16 * count)
    return [str(uuid.UUID(bytes=raw[at:at + 16], version=4)) for at in range(0, 16 * count, 16)]


def _optional_str(field_name: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise ValidationError(field_name, value, "must not be empty")
        return value
    if type(value).__name__ == "UUID":
        return str(value)
    raise ValidationError(field_name, value, "must be a string or None")


def _tags(value: object) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError("tags", value, "must be a list of strings")
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not tag:
            raise ValidationError("tags", tag, "each tag must be a non-empty string")
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _retry(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, Retry):
        return value.to_dict()
    if isinstance(value, Mapping):
        try:
            return Retry(**value).to_dict()
        except TypeError as exc:
            raise ValidationError("retry", value, str(exc)) from None
    raise ValidationError("retry", value, "must be an actors.Retry or None")


def _int(field_name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field_name, value, "must be an int")
    return value


def check_priority(value: object) -> str:
    if value is None:
        return "normal"
    return check_priority_name(value)


def check_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("name", value, "must be a non-empty string")
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError("name", value, f"must be at most {MAX_NAME_LENGTH} characters")
    return value


def check_run_at(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError("run_at", value, "must be a datetime")
    return to_timestamp(value)


def build_task(spec: TaskSpec, *, task_id: str, now: float, default_priority: str | None = None,
               default_timeout: float | None = None) -> Task:
    """Validate ``spec`` and return the PENDING task it describes.

    Raises:
        ValidationError: the first bad field, named with its value.
    """
    name = check_name(spec.name)
    if not isinstance(spec.description, str):
        raise ValidationError("description", spec.description, "must be a string")
    metadata = check_json("metadata", {} if spec.metadata is None else spec.metadata)
    priority = check_priority(spec.priority if spec.priority is not None else default_priority)
    queue = _optional_str("queue", spec.queue)
    delay = seconds("delay", spec.delay, allow_zero=True)
    run_at = check_run_at(spec.run_at)
    if run_at is not None and delay is not None:
        raise ValidationError("delay", spec.delay, "give run_at or delay, not both")
    interval = seconds("update_interval", spec.update_interval, allow_zero=False)
    if interval is None:
        interval = interval_from_metadata(metadata)
    max_failures = _int("max_failures", spec.max_failures)
    if max_failures is None and "maxFailures" in metadata:
        raw = metadata["maxFailures"]
        max_failures = -1 if raw is None else _int("metadata['maxFailures']", raw)
    if max_failures is None:
        max_failures = DEFAULT_MAX_FAILURES
    elif max_failures <= 0:
        max_failures = -1
    max_attempts = _int("max_attempts", spec.max_attempts)
    if max_attempts is not None and max_attempts < 1:
        raise ValidationError("max_attempts", max_attempts, "must be >= 1")
    timeout = seconds("timeout", spec.timeout, allow_zero=False)
    if timeout is None:
        timeout = default_timeout
    key = spec.idempotency_key
    if key is not None and (not isinstance(key, str) or not key):
        raise ValidationError("idempotency_key", key, "must be a non-empty string or None")
    if run_at is not None:
        due = run_at
    elif delay is not None:
        due = now + delay
    elif interval is not None:
        due = now + interval  # like ElizaOS: a recurring task first runs one interval in
    else:
        due = now
    created = from_timestamp(now)
    return Task(
        id=task_id,
        name=name,
        description=spec.description,
        status=TaskStatus.PENDING,
        priority=priority,
        queue=queue,
        tags=_tags(spec.tags),
        metadata=metadata,
        room_id=_optional_str("room_id", spec.room_id),
        world_id=_optional_str("world_id", spec.world_id),
        entity_id=_optional_str("entity_id", spec.entity_id),
        run_at=from_timestamp(due),
        update_interval=interval,
        max_attempts=max_attempts,
        max_failures=max_failures,
        timeout=timeout,
        retry=_retry(spec.retry),
        idempotency_key=key,
        created_at=created,
        updated_at=created,
    )


#: Fields ``TaskStore.update`` accepts (``run_at`` as epoch seconds).
UPDATABLE_FIELDS = frozenset({
    "description", "tags", "metadata", "priority", "queue", "room_id", "world_id", "entity_id", "run_at",
    "update_interval", "max_attempts", "max_failures", "timeout", "retry"})

_COMPACT = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode  # the stores' JSON text


def distinct_ids(tasks: Sequence[Task]) -> list[str]:
    """The tasks' ids in order; ``ValidationError`` naming the first id given twice."""
    ids = [task.id for task in tasks]
    if len(set(ids)) != len(ids):
        twice = next(task_id for task_id in ids if ids.count(task_id) > 1)
        raise ValidationError("id", twice, "appears twice in the batch")
    return ids


def check_priority_name(value: object) -> str:
    """``value`` if it is a priority name ('high', 'normal', 'low'); ``ValidationError`` otherwise."""
    if value not in PRIORITIES:
        raise ValidationError("priority", value, "must be 'high', 'normal' or 'low'")
    return str(value)


check_tags = _tags  # tags as a tuple of distinct non-empty strings in order, or ValidationError


def json_text(field_name: str, value: Any) -> str:
    """Compact JSON text of ``value`` as the stores keep it; ``ValidationError`` if not JSON."""
    if value is None:
        return "null"
    if not value and isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    try:
        return _COMPACT(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(field_name, value, f"not JSON: {exc}") from None


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
