"""Rules every store applies the same way (stdlib only; each store calls them inside its
own transaction): where a new interval moves a pending run, what a resume of a task
that is not paused (or a retry of one that did not end badly) raises, and when an
idempotency key is free again."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ValidationError
from ..models import Task

__all__ = ["RETRYABLE", "key_times", "moved_run_at", "not_paused", "not_retryable"]

#: The statuses ``TaskStore.retry`` takes back to PENDING.
RETRYABLE = ("failed", "cancelled")


def moved_run_at(changes: Mapping[str, Any], *, status: str, interval: float | None,
                 last_run_at: float | None, created_at: float | None, attempts: int,
                 now: float) -> float | None:
    """The ``run_at`` a change of ``update_interval`` gives a task, or None (unchanged).

    Due = last run + interval (ELIZA_SPEC): a PENDING task whose interval changes to
    ``new`` is due at (``last_run_at``, or ``created_at`` when it never ran) + ``new``,
    never before ``now``. Nothing moves when ``run_at`` is set in the same change, the
    interval stays the same or is removed, or the task is not PENDING.
    """
    new = changes.get("update_interval")
    if new is None or "run_at" in changes or status != "pending" or new == interval:
        return None
    anchor = last_run_at if last_run_at is not None else created_at if attempts == 0 else None
    return now if anchor is None else max(now, anchor + float(new))


def not_paused(status: str) -> ValidationError:
    """What ``TaskStore.resume`` raises for a task in ``status`` (neither PAUSED nor pausing)."""
    return ValidationError("status", status, "only a paused task can be resumed")


def not_retryable(status: str) -> ValidationError:
    """What ``TaskStore.retry`` raises for a task in ``status`` (neither FAILED nor CANCELLED)."""
    return ValidationError("status", status, "only a failed or cancelled task can be retried")


def key_times(tasks: Sequence[Task]) -> dict[str, float]:
    """Each idempotency key of ``tasks`` with the time ``add`` decides it at: the creation time of
    the first task using it (-inf without one: no key expires for it).

    A row holding the key with ``idempotency_expires_at <= `` that time gives the key up (it is
    cleared on that row) and the new task takes it; otherwise the holder's id is returned.
    """
    keys: dict[str, float] = {}
    for task in tasks:
        key = task.idempotency_key
        if key is not None and key not in keys:
            keys[key] = -math.inf if task.created_at is None else task.created_at.timestamp()
    return keys
