"""What a caller may ask for when creating a task, and the checks it must pass.

``build_task`` turns ``create_task``'s keywords into a ``Task`` or raises ``ValidationError`` naming the
first bad field and its value; each field's check is a function of its own in ``values``. Pure: id and time
are arguments.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from ..clock import from_timestamp
from ..errors import ValidationError
from ..models import Task, TaskStatus
from ..retry import Retry
from .values import (
    MAX_SECONDS,
    _int,
    _tags,
    check_json,
    check_max_iterations,
    check_name,
    check_priority,
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


def new_ids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, from one read of the OS's random source
    (``uuid.uuid4()`` reads it once per id, which costs more than the rest of a create)."""
    raw = os.urandom(16 * count)
    return [str(uuid.UUID(bytes=raw[at:at + 16], version=4)) for at in range(0, 16 * count, 16)]


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
