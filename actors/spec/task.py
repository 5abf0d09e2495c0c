"""What a caller may ask for when creating a task, and the checks it must pass.

``build_task`` turns ``create_task``'s keywords into a ``Task`` or raises ``ValidationError`` naming the
first bad field and its value; each field's check is also a function of its own. Pure: id and time are arguments.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from ..clock import from_timestamp, to_timestamp
from ..errors import ValidationError
from ..models import PRIORITIES, Task, TaskStatus
from ..retry import Retry

__all__ = [
    "DEFAULT_MAX_FAILURES",
    "MAX_INT",
    "MAX_NAME_LENGTH",
    "MAX_SECONDS",
    "MAX_TRACE_ENTRIES",
    "MAX_TRACE_VALUE",
    "SPEC_FIELDS",
    "TaskSpec",
    "build_task",
    "check_json",
    "check_max_iterations",
    "check_name",
    "check_priority",
    "check_priority_name",
    "check_retry",
    "check_run_at",
    "check_task_id",
    "check_text",
    "check_trace",
    "coerce_spec",
    "instant",
    "interval_from_metadata",
    "json_text",
    "new_ids",
    "optional_str",
    "seconds",
]

DEFAULT_MAX_FAILURES = 5
MAX_NAME_LENGTH = 200
#: The largest count a task row holds (``max_attempts``, ``max_failures``; PostgreSQL ``INTEGER``).
MAX_INT = 2**31 - 1
#: The longest duration accepted anywhere (100 years): every due time, lease and back-off computed
#: from one stays a representable datetime.
MAX_SECONDS = 100 * 365.25 * 86400.0


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
    idempotency_ttl: float | timedelta | None = None
    concurrency_key: str | None = None
    max_iterations: int | None = None
    id: str | None = field(default=None, repr=False)
    trace: Mapping[str, str] | None = field(default=None, repr=False)


SPEC_FIELDS = frozenset(f.name for f in fields(TaskSpec))


def coerce_spec(spec: TaskSpec | Mapping[str, Any], index: int | None = None) -> TaskSpec:
    """A ``TaskSpec`` from a spec or a dict of ``create_task`` keyword names."""
    if isinstance(spec, TaskSpec):
        return spec
    where = "specs" if index is None else f"specs[{index}]"
    if not isinstance(spec, Mapping):
        raise ValidationError(where, spec, "must be a dict or an actors.TaskSpec")
    unknown = sorted((key for key in spec if key not in SPEC_FIELDS), key=repr)  # keys of any type
    if unknown:
        raise ValidationError(f"{where}.{unknown[0]}", spec[unknown[0]], "unknown field")
    if "name" not in spec:
        raise ValidationError(f"{where}.name", None, "is required")
    return TaskSpec(**spec)


def seconds(field_name: str, value: object, *, allow_zero: bool, limit: float = MAX_SECONDS) -> float | None:
    """Float seconds from a number or timedelta; None stays None.

    Raises:
        ValidationError: not a number or timedelta, not finite, negative (or zero when not
            ``allow_zero``), or above ``limit`` (default ``MAX_SECONDS``: 100 years).
    """
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
    if number > limit:
        raise ValidationError(field_name, value, f"must be at most {limit:.0f} (100 years)")
    return number


def interval_from_metadata(metadata: Mapping[str, Any]) -> float | None:
    """The seeds' ``metadata["updateInterval"]`` (milliseconds) as seconds; None when absent.

    Raises:
        ValidationError: not a finite number of milliseconds > 0, or past ``MAX_SECONDS``
            (field ``metadata['updateInterval']``, the unit named).
    """
    if "updateInterval" not in metadata:
        return None
    ms = metadata["updateInterval"]
    if ms is None:
        return None
    if (isinstance(ms, bool) or not isinstance(ms, (int, float)) or not math.isfinite(ms) or ms <= 0
            or ms > MAX_SECONDS * 1000.0):
        raise ValidationError("metadata['updateInterval']", ms,
                              f"must be a finite number of milliseconds > 0 and <= {MAX_SECONDS * 1000.0:g}")
    interval = float(ms) / 1000.0
    if interval == 0.0:  # a subnormal count of ms: zero seconds, which update_interval refuses
        raise ValidationError("metadata['updateInterval']", ms, "must be a number of milliseconds > 0")
    return interval


def check_text(field_name: str, value: object) -> str:
    """``value`` if it is a string every store can keep as is, else ``ValidationError``.

    Refused: a non-string, a NUL character (PostgreSQL text cannot hold one) and a lone
    surrogate (not encodable as UTF-8, so neither SQLite nor PostgreSQL can store it).
    """
    if not isinstance(value, str):
        raise ValidationError(field_name, value, "must be a string")
    if "\x00" in value:
        raise ValidationError(field_name, value, "must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(field_name, value, "must be valid Unicode (a lone surrogate is not)") from None
    return value


def check_task_id(value: object) -> str:
    """A task id as the public calls take it: a string (an unknown one is the store's answer)."""
    return check_text("task_id", value)


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
    _nested_keys(field_name, out)
    return out


_COMPACT = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode  # the stores' JSON text


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



def _nested_keys(field_name: str, top: dict[str, Any]) -> None:
    """Refuse a non-string key at any depth: JSON would turn ``{1: x}`` into ``{"1": x}`` and
    the value would not come back as given (the top level is checked by the caller)."""
    stack: list[tuple[str, Any]] = [(f"{field_name}[{key!r}]", value) for key, value in top.items()
                                    if isinstance(value, (dict, list, tuple))]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ValidationError(where, key, "keys must be strings")
                if isinstance(item, (dict, list, tuple)):
                    stack.append((f"{where}[{key!r}]", item))
        else:
            stack.extend((f"{where}[{at}]", item) for at, item in enumerate(value)
                         if isinstance(item, (dict, list, tuple)))


def new_ids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, from one read of the OS's random source
    (``uuid.uuid4()`` reads it once per id, which costs more than the rest of a create)."""
    raw = os.urandom(16 * count)
    return [str(uuid.UUID(bytes=raw[at:at + 16], version=4)) for at in range(0, 16 * count, 16)]


def optional_str(field_name: str, value: object) -> str | None:
    """A non-empty storable string (a UUID is taken as its text), or None."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise ValidationError(field_name, value, "must not be empty")
        return check_text(field_name, value)
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
        check_text("tags", tag)
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def check_retry(value: object) -> dict[str, Any] | None:
    """A task's retry policy in its stored form (a dict), or None."""
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
    if value > MAX_INT:
        raise ValidationError(field_name, value, f"must be at most {MAX_INT}")
    return value


def check_max_iterations(field_name: str, value: object) -> int | None:
    """``max_iterations`` (``TaskWorker`` / ``create_task``): None or an int from 1 to ``MAX_INT``."""
    number = _int(field_name, value)
    if number is not None and number < 1:
        raise ValidationError(field_name, value, "must be >= 1")
    return number


#: At most this many entries in a task's ``trace`` carrier, each value at most ``MAX_TRACE_VALUE`` characters.
MAX_TRACE_ENTRIES = 8
MAX_TRACE_VALUE = 2048


def check_trace(value: object) -> dict[str, str] | None:
    """A task's ``trace``: None, or a W3C trace-context carrier (``{"traceparent": ...,
    "tracestate": ...}``) as a dict of up to ``MAX_TRACE_ENTRIES`` non-empty string keys to
    strings of at most ``MAX_TRACE_VALUE`` characters; an empty carrier is None."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) > MAX_TRACE_ENTRIES:
        raise ValidationError("trace", value, f"must be a dict of at most {MAX_TRACE_ENTRIES} strings")
    for key, text in value.items():
        if not isinstance(key, str) or not key or not isinstance(text, str) or len(text) > MAX_TRACE_VALUE:
            raise ValidationError("trace", value, f"must map non-empty strings to strings of at most "
                                                  f"{MAX_TRACE_VALUE} characters")
    return dict(value) or None


def check_priority_name(value: object) -> str:
    """``value`` if it is a priority name ('high', 'normal', 'low'); ``ValidationError`` otherwise."""
    if value not in PRIORITIES:
        raise ValidationError("priority", value, "must be 'high', 'normal' or 'low'")
    return str(value)



def check_priority(value: object) -> str:
    if value is None:
        return "normal"
    return check_priority_name(value)


def check_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("name", value, "must be a non-empty string")
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError("name", value, f"must be at most {MAX_NAME_LENGTH} characters")
    return check_text("name", value)


def instant(field_name: str, value: object, stamp: float) -> float:
    """``stamp`` if it reads back as a datetime (years 1 to 9999, UTC), else ``ValidationError``."""
    try:
        from_timestamp(stamp)
    except (OverflowError, ValueError, OSError):
        raise ValidationError(field_name, value, "is out of range (years 1 to 9999, UTC)") from None
    return stamp


def check_run_at(value: object) -> float | None:
    """Epoch seconds of a datetime (naive is UTC) that a store can keep and give back."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError("run_at", value, "must be a datetime")
    try:
        stamp = to_timestamp(value)
    except (OverflowError, ValueError, OSError):
        raise ValidationError("run_at", value, "is out of range (years 1 to 9999, UTC)") from None
    return instant("run_at", value, stamp)


def build_task(spec: TaskSpec, *, task_id: str, now: float, default_priority: str | None = None,
               default_timeout: float | None = None) -> Task:
    """Validate ``spec`` and return the PENDING task it describes.

    Raises:
        ValidationError: the first bad field, named with its value.
    """
    name = check_name(spec.name)
    check_text("description", spec.description)
    checked_id = optional_str("id", task_id)
    if checked_id is None:
        raise ValidationError("id", task_id, "must be a non-empty string")
    task_id = checked_id
    metadata = check_json("metadata", {} if spec.metadata is None else spec.metadata)
    priority = check_priority(spec.priority if spec.priority is not None else default_priority)
    queue = optional_str("queue", spec.queue)
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
    from .unique import check_idempotency  # (it builds on this module's checks)

    key, key_expires = check_idempotency(spec.idempotency_key, spec.idempotency_ttl, now)
    if run_at is not None:
        due = run_at
    elif delay is not None:
        due = now + delay
    else:  # like ElizaOS: a recurring task first runs one interval in
        due = now + interval if interval is not None else now
    if delay is not None:
        instant("delay", spec.delay, due)
    elif interval is not None and run_at is None:
        instant("update_interval", interval, due)
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
        room_id=optional_str("room_id", spec.room_id),
        world_id=optional_str("world_id", spec.world_id),
        entity_id=optional_str("entity_id", spec.entity_id),
        run_at=from_timestamp(due),
        update_interval=interval,
        max_attempts=max_attempts,
        max_failures=max_failures,
        timeout=timeout,
        retry=check_retry(spec.retry),
        idempotency_key=key,
        idempotency_expires_at=key_expires,
        concurrency_key=optional_str("concurrency_key", spec.concurrency_key),
        max_iterations=check_max_iterations("max_iterations", spec.max_iterations),
        trace=check_trace(spec.trace),
        created_at=created,
        updated_at=created,
    )
