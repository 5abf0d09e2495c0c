"""MemoryStore's maintenance and counting: reclaim, next wake times, prune, counts.

A mixin of ``MemoryStore`` (``store``); every call holds the store's lock.
"""


from __future__ import annotations

import threading
from collections.abc import Callable, Collection

from ...lifecycle import reclaim
from ...models import Task, TaskStatus
from ..base import (
    DEFAULT_QUEUE,
)
from ..changes import ChangeCursor, collect_changes
from .rows import Row

__all__ = ["MemoryMaintenance"]


__all__ = ["MemoryMaintenance"]


class MemoryMaintenance:
    """Reclaim, due times, pruning and counts of ``MemoryStore`` (see ``TaskStore``)."""

    _lock: threading.RLock
    _rows: dict[str, Row]
    _check_open: Callable[[], None]
    delete: Callable[[str], bool]
    _prune_firings: Callable[[float], None]

    # --- maintenance ----------------------------------------------------------------------

    def reclaim_expired(self, now: float, max_crashes: int) -> list[Task]:
        """Expired leases → PENDING (PAUSED if requested) with crash + 1, or FAILED at ``max_crashes``."""
        with self._lock:
            self._check_open()
            expired = [row for row in self._rows.values() if row.status is TaskStatus.RUNNING
                       and row.lease_expires_at is not None and row.lease_expires_at <= now]
            expired.sort(key=lambda r: (r.lease_expires_at, r.seq))
            out: list[Task] = []
            for row in expired:
                next_state = reclaim(row.values["crash_count"], row.owner, pause_requested=row.pause_requested,
                                     max_crashes=max_crashes)
                row.values.update(crash_count=next_state.crash_count, error=next_state.error)
                row.leave_running(next_state.status, now)
                out.append(row.task())
            return out

    def next_due(self, names: Collection[str]) -> float | None:
        """The earliest ``run_at`` of a PENDING task named in ``names``, or None."""
        wanted = set(names)
        with self._lock:
            self._check_open()
            due = [row.values["run_at"] for row in self._rows.values()
                   if row.status is TaskStatus.PENDING and row.values["name"] in wanted]
        return min(due) if due else None

    def next_lease_expiry(self) -> float | None:
        """The earliest ``lease_expires_at`` of any RUNNING task, or None."""
        with self._lock:
            self._check_open()
            leases = [row.lease_expires_at for row in self._rows.values()
                      if row.status is TaskStatus.RUNNING and row.lease_expires_at is not None]
        return min(leases) if leases else None

    def prune(self, before: float) -> int:
        """Delete SUCCEEDED / FAILED / CANCELLED tasks (and logs) with ``finished_at < before``."""
        with self._lock:
            self._check_open()
            doomed = [task_id for task_id, row in self._rows.items() if row.status.finished
                      and row.values["finished_at"] is not None and row.values["finished_at"] < before]
            for task_id in doomed:
                self.delete(task_id)
            self._prune_firings(before)
            return len(doomed)

    def changes_since(self, cursor: ChangeCursor | None, limit: int = 500) -> tuple[list[Task], ChangeCursor]:
        """See ``TaskStore.changes_since`` (a scan: the memory store has no indexes)."""
        with self._lock:
            self._check_open()
            rows = list(self._rows.values())
            if cursor is None:
                finished = [row.values["finished_at"] for row in rows if row.values.get("finished_at") is not None]
                return [], ChangeCursor(max((row.seq for row in rows), default=0), max(finished, default=0.0))
            new = [(row.seq, row.task()) for row in sorted(
                (row for row in rows if row.seq > cursor.seq), key=lambda row: row.seq)[:limit]]
            running = [row.task() for row in rows if row.status is TaskStatus.RUNNING]
            done = [row.task() for row in sorted(
                (row for row in rows if row.values.get("finished_at") is not None
                 and row.values["finished_at"] >= cursor.finished), key=lambda row: row.values["finished_at"])[:limit]]
        return collect_changes(new, running, done, cursor)

    def counts(self) -> dict[str, int]:
        """Number of tasks by status value (every status present, zeros included)."""
        out = {status.value: 0 for status in TaskStatus}
        with self._lock:
            self._check_open()
            for row in self._rows.values():
                out[row.status.value] += 1
        return out

    def counts_by_queue(self) -> dict[str, dict[str, int]]:
        """Per queue (None counted as ``DEFAULT_QUEUE``), tasks by status value, zeros included."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            self._check_open()
            for row in self._rows.values():
                queue = row.values["queue"] or DEFAULT_QUEUE
                counts = out.setdefault(queue, {status.value: 0 for status in TaskStatus})
                counts[row.status.value] += 1
        return out

    def pending_names(self) -> dict[str, int]:
        """PENDING task counts by name (names with none are left out)."""
        out: dict[str, int] = {}
        with self._lock:
            self._check_open()
            for row in self._rows.values():
                if row.status is TaskStatus.PENDING:
                    out[row.values["name"]] = out.get(row.values["name"], 0) + 1
        return out
