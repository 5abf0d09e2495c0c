"""SQLiteStore's maintenance and counting: reclaim, next wake times, prune, counts.

A mixin of ``SQLiteStore`` (``store``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection
from typing import Any

from ...lifecycle import reclaim
from ...models import PRIORITIES, Task, TaskStatus
from ..base import DEFAULT_QUEUE
from ..changes import ChangeCursor, collect_changes
from . import statements as sq
from .connection import Guarded

__all__ = ["SQLiteMaintenance"]


class SQLiteMaintenance:
    """Reclaim, due times, pruning and counts of ``SQLiteStore`` (see ``TaskStore``)."""

    _db: Guarded
    _announce: Callable[[sqlite3.Connection, float | None], None]
    _prune_firings: Callable[[sqlite3.Connection, float], None]

    # --- maintenance ----------------------------------------------------------------------

    def reclaim_expired(self, now: float, max_crashes: int) -> list[Task]:
        """RUNNING rows with ``lease_expires_at <= now`` → PENDING (PAUSED if requested), crash + 1.

        When the new ``crash_count`` reaches ``max_crashes`` (if ``max_crashes >= 1``)
        the row becomes FAILED with an error saying it was quarantined. ``run_at``
        and ``attempts`` are kept. Returns the rows after the change, oldest lease first.
        """
        with self._db.tx() as conn:
            rows = conn.execute(
                "SELECT seq, crash_count, owner, pause_requested FROM tasks INDEXED BY tasks_lease "
                "WHERE status = 'running' AND lease_expires_at <= ? ORDER BY lease_expires_at, seq",
                (now,)).fetchall()
            params: list[tuple[Any, ...]] = []
            for seq, crashes, owner, paused in rows:
                next_state = reclaim(crashes, owner, pause_requested=bool(paused), max_crashes=max_crashes)
                params.append((next_state.status.value, next_state.crash_count, next_state.error,
                               now if next_state.status.finished else None, now, seq))
            conn.executemany(
                "UPDATE tasks SET status = ?, crash_count = ?, error = ?, finished_at = ?, "
                f"updated_at = ?, {sq.LEAVE_RUNNING} WHERE seq = ?", params)
            if params:
                self._announce(conn, None)
            return sq.fetch_seqs(conn, [row[0] for row in rows])

    def next_due(self, names: Collection[str]) -> float | None:
        """The earliest ``run_at`` of a PENDING task named in ``names``, or None."""
        wanted = sorted(set(names))
        if not wanted:
            return None
        params = [name for _ in PRIORITIES for name in wanted]
        with self._db.read() as conn:
            value = conn.execute(sq.next_due_sql(len(wanted)), params).fetchone()[0]
        return None if value is None else float(value)

    def next_lease_expiry(self) -> float | None:
        """The earliest ``lease_expires_at`` of any RUNNING task, or None."""
        with self._db.read() as conn:
            value = conn.execute(
                "SELECT MIN(lease_expires_at) FROM tasks INDEXED BY tasks_lease "
                "WHERE status = 'running'").fetchone()[0]
        return None if value is None else float(value)

    def prune(self, before: float) -> int:
        """Delete SUCCEEDED / FAILED / CANCELLED tasks (tags, logs) with ``finished_at < before``."""
        # "+status" keeps the planner on tasks_finished instead of walking every finished row.
        where = f"finished_at < ? AND +status IN {sq.FINISHED!r}"
        with self._db.tx() as conn:
            sq.untag(conn, conn.execute(f"SELECT seq, tags FROM tasks WHERE {where} AND tags != '[]'",
                                           (before,)).fetchall())
            conn.execute(f"DELETE FROM task_logs WHERE task_id IN (SELECT id FROM tasks WHERE {where})",
                         (before,))
            self._prune_firings(conn, before)
            return conn.execute(f"DELETE FROM tasks WHERE {where}", (before,)).rowcount

    def changes_since(self, cursor: ChangeCursor | None, limit: int = 500) -> tuple[list[Task], ChangeCursor]:
        """See ``TaskStore.changes_since``: three indexed reads in one read transaction."""
        with self._db.read() as conn:
            if cursor is None:
                seq, finished = conn.execute("SELECT MAX(seq), MAX(finished_at) FROM tasks").fetchone()
                return [], ChangeCursor(int(seq or 0), float(finished or 0.0))
            new = [(row[0], sq.to_task(row[1:])) for row in conn.execute(
                sq.SELECT_SEQ + " WHERE seq > ? ORDER BY seq LIMIT ?", (cursor.seq, limit))]
            running = [sq.to_task(row) for row in conn.execute(sq.SELECT + " WHERE status = 'running'")]
            finished_rows = [sq.to_task(row) for row in conn.execute(
                sq.SELECT + " WHERE finished_at >= ? ORDER BY finished_at LIMIT ?", (cursor.finished, limit))]
        return collect_changes(new, running, finished_rows, cursor)

    def counts(self) -> dict[str, int]:
        """Number of tasks by status value (every status present, zeros included)."""
        out = {status.value: 0 for status in TaskStatus}
        with self._db.read() as conn:
            out.update(conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall())
        return out

    def counts_by_queue(self) -> dict[str, dict[str, int]]:
        """Per queue (None counted as ``DEFAULT_QUEUE``), tasks by status value, zeros included."""
        out: dict[str, dict[str, int]] = {}
        with self._db.read() as conn:
            rows = conn.execute("SELECT COALESCE(queue, ?), status, COUNT(*) FROM tasks GROUP BY 1, 2",
                                (DEFAULT_QUEUE,)).fetchall()
        for queue, status, count in rows:
            out.setdefault(str(queue), {value.value: 0 for value in TaskStatus})[str(status)] += int(count)
        return out

    def pending_names(self) -> dict[str, int]:
        """PENDING task counts by name (names with none are left out)."""
        # A loose index scan: hop from name to name inside the pending part of
        # tasks_claim and count each name's range.
        sql = (
            "WITH RECURSIVE names(name) AS ("
            "SELECT (SELECT MIN(name) FROM tasks WHERE status = 'pending') UNION ALL "
            "SELECT (SELECT MIN(name) FROM tasks WHERE status = 'pending' AND name > names.name) "
            "FROM names WHERE names.name IS NOT NULL) "
            "SELECT name, (SELECT COUNT(*) FROM tasks WHERE status = 'pending' AND tasks.name = names.name) "
            "FROM names WHERE name IS NOT NULL")
        with self._db.read() as conn:
            return {name: count for name, count in conn.execute(sql) if count}

    def data_version(self) -> int:
        """A number that changes when another connection commits (``PRAGMA data_version``).

        Cheap; lets a scheduler notice tasks created by other processes (a CLI).
        """
        with self._db.read() as conn:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])
