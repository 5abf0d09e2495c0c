"""Rules every store applies the same way (stdlib only; each store calls them inside its
own transaction): where a new interval moves a pending run, and what a resume of a task
that is not paused raises."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError

__all__ = ["moved_run_at", "not_paused"]


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
