"""What a caller may ask for when creating a task, and the checks it must pass.

``build_task`` turns ``create_task``'s keywords into a ``Task`` or raises ``ValidationError`` naming the
first bad field and its value; each field's check is a function of its own in ``values``. Pure: id and time
are arguments.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from ..clock import from_timestamp
from ..errors import ValidationError
from ..models import Task, TaskStatus, direct_constructor
from ..retry import Retry
from .values import (
    MAX_SECONDS,
    _int,
    _tags,
    check_json,
    check_max_iterations,
    check_name,
    check_priority_name,
    check_retry,
    check_run_at,
    check_text,
    check_trace,
    instant,
    optional_str,
    seconds,
)

__all__ = [
    "DEFAULT_MAX_FAILURES",
    "SPEC_FIELDS",
    "TaskSpec",
    "build_task",
    "coerce_spec",
    "interval_from_metadata",
    "new_ids",
    "uuid4_texts",
]

DEFAULT_MAX_FAILURES = 5


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
_new_spec = direct_constructor(TaskSpec)


def coerce_spec(spec: TaskSpec | Mapping[str, Any], index: int | None = None) -> TaskSpec:
    """A ``TaskSpec`` from a spec or a dict of ``create_task`` keyword names."""
    if isinstance(spec, TaskSpec):
        return spec
    if (spec.__class__ is dict or isinstance(spec, Mapping)) and "name" in spec and SPEC_FIELDS.issuperset(spec):
        return _new_spec(spec)  # = TaskSpec(**spec), its keys checked just now
    where = "specs" if index is None else f"specs[{index}]"
    if not isinstance(spec, Mapping):
        raise ValidationError(where, spec, "must be a dict or an actors.TaskSpec")
    unknown = sorted((key for key in spec if key not in SPEC_FIELDS), key=repr)  # keys of any type
    if unknown:
        raise ValidationError(f"{where}.{unknown[0]}", spec[unknown[0]], "unknown field")
    if "name" not in spec:
        raise ValidationError(f"{where}.name", None, "is required")
    return TaskSpec(**spec)


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


#: ``bytes.translate`` tables setting a random byte's bits as ``uuid.UUID(..., version=4)`` does:
#: byte 6 takes the version (4) in its high nibble, byte 8 the RFC 4122 variant (0b10) on top.
_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))
_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))


def new_ids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, from one read of the OS's random source
    (``uuid.uuid4()`` reads it once per id, which costs more than the rest of a create)."""
    return uuid4_texts(os.urandom(16 * count))


def uuid4_texts(raw: bytes) -> list[str]:
    """``str(uuid.UUID(bytes=chunk, version=4))`` of each 16-byte chunk of ``raw``, set for the
    whole batch at once (two ``translate`` calls and one ``hex``, not a ``UUID`` per id)."""
    data = bytearray(raw)
    data[6::16] = data[6::16].translate(_VERSION_4)
    data[8::16] = data[8::16].translate(_VARIANT)
    text = data.hex()
    return ["-".join((text[at:at + 8], text[at + 8:at + 12], text[at + 12:at + 16], text[at + 16:at + 20],
                      text[at + 20:at + 32])) for at in range(0, len(text), 32)]


def build_task(spec: TaskSpec, *, task_id: str, now: float, default_priority: str | None = None,
               default_timeout: float | None = None, default_queue: str | None = None,
               default_trace: dict[str, str] | None = None, parent_id: str | None = None) -> Task:
    """Validate ``spec`` and return the PENDING task it describes.

    ``default_priority``, ``default_timeout``, ``default_queue`` and ``default_trace`` apply
    when ``spec`` gives none (its worker's, the creator's span); ``parent_id`` is kept as is.

    Raises:
        ValidationError: the first bad field, named with its value.
    """
    # Each check runs only on a value that is given: the check of None (or of the default) is
    # a no-op, and skipping the call keeps a create of a few fields cheap. The checks run in
    # the order the fields are listed, so the first bad one is the one named.
    name = check_name(spec.name)
    description = spec.description
    if description.__class__ is not str or description:
        check_text("description", description)
    checked_id = optional_str("id", task_id)
    if checked_id is None:
        raise ValidationError("id", task_id, "must be a non-empty string")
    metadata = check_json("metadata", {} if spec.metadata is None else spec.metadata)
    given = spec.priority if spec.priority is not None else default_priority
    priority = "normal" if given is None else check_priority_name(given)
    queue = None if spec.queue is None else optional_str("queue", spec.queue)
    delay = None if spec.delay is None else seconds("delay", spec.delay, allow_zero=True)
    run_at = None if spec.run_at is None else check_run_at(spec.run_at)
    if run_at is not None and delay is not None:
        raise ValidationError("delay", spec.delay, "give run_at or delay, not both")
    interval = (None if spec.update_interval is None
                else seconds("update_interval", spec.update_interval, allow_zero=False))
    if interval is None and "updateInterval" in metadata:
        interval = interval_from_metadata(metadata)
    max_failures = None if spec.max_failures is None else _int("max_failures", spec.max_failures)
    if max_failures is None and "maxFailures" in metadata:
        raw = metadata["maxFailures"]
        max_failures = -1 if raw is None else _int("metadata['maxFailures']", raw)
    if max_failures is None:
        max_failures = DEFAULT_MAX_FAILURES
    elif max_failures <= 0:
        max_failures = -1
    max_attempts = None if spec.max_attempts is None else _int("max_attempts", spec.max_attempts)
    if max_attempts is not None and max_attempts < 1:
        raise ValidationError("max_attempts", max_attempts, "must be >= 1")
    timeout = None if spec.timeout is None else seconds("timeout", spec.timeout, allow_zero=False)
    if timeout is None:
        timeout = default_timeout
    key: str | None = None
    key_expires: datetime | None = None
    if spec.idempotency_key is not None or spec.idempotency_ttl is not None:
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
    created = _datetime(now)
    tags = spec.tags
    return _new_task({
        "id": checked_id,
        "name": name,
        "description": description,
        "status": TaskStatus.PENDING,
        "priority": priority,
        "queue": queue if queue is not None or not default_queue else default_queue,
        "tags": () if tags.__class__ is tuple and not tags else _tags(tags),
        "metadata": metadata,
        "room_id": None if spec.room_id is None else optional_str("room_id", spec.room_id),
        "world_id": None if spec.world_id is None else optional_str("world_id", spec.world_id),
        "entity_id": None if spec.entity_id is None else optional_str("entity_id", spec.entity_id),
        "run_at": created if due == now else from_timestamp(due),
        "update_interval": interval,
        "attempts": 0,
        "failure_count": 0,
        "crash_count": 0,
        "progress": None,
        "result": None,
        "error": None,
        "created_at": created,
        "updated_at": created,
        "finished_at": None,
        "max_attempts": max_attempts,
        "max_failures": max_failures,
        "timeout": timeout,
        "retry": None if spec.retry is None else check_retry(spec.retry),
        "idempotency_key": key,
        "idempotency_expires_at": key_expires,
        "parent_id": parent_id,
        "concurrency_key": (None if spec.concurrency_key is None
                            else optional_str("concurrency_key", spec.concurrency_key)),
        "iteration": 1,
        "max_iterations": (None if spec.max_iterations is None
                           else check_max_iterations("max_iterations", spec.max_iterations)),
        "steps": {},
        "trace": default_trace if spec.trace is None else check_trace(spec.trace) or default_trace,
    })


#: ``Task(**values)`` without a ``__setattr__`` per field (``build_task`` has checked each one and
#: hands over a dict of every field, in ``Task``'s order).
_new_task = direct_constructor(Task, adopt=True)

#: The last ``(now, from_timestamp(now))``: a batch of creates shares one ``now``, so one datetime.
_last_now: tuple[float, datetime] = (math.nan, datetime.min)


def _datetime(now: float) -> datetime:
    """``from_timestamp(now)``, reusing the last one's (datetimes are immutable)."""
    global _last_now
    last = _last_now
    if last[0] == now:
        return last[1]
    made = from_timestamp(now)
    _last_now = (now, made)
    return made
