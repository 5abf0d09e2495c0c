"""PostgresStore's maintenance and counting: reclaim, next wake times, prune, counts.

A mixin of ``PostgresStore`` (``store``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from ...lifecycle import reclaim
from ...models import Task, TaskStatus
from ..base import DEFAULT_QUEUE
from ..changes import ChangeCursor, collect_changes
from ..sql import codec
from . import schema as pg

__all__ = ["PostgresMaintenance"]

_FINISHED = list(codec.FINISHED)


class PostgresMaintenance:
    """Reclaim, due times, pruning and counts of ``PostgresStore`` (see ``TaskStore``)."""

    _tx: Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
    _announce: Callable[[psycopg.Connection[Any], float | None], None]
    _prune_firings: Callable[[psycopg.Connection[Any], float], None]

    # --- maintenance ----------------------------------------------------------------------

    def reclaim_expired(self, now: float, max_crashes: int) -> list[Task]:
        """RUNNING rows with ``lease_expires_at <= now`` → PENDING (PAUSED if requested), crash + 1.

        When the new ``crash_count`` reaches ``max_crashes`` (if ``max_crashes >= 1``)
        the row becomes FAILED with an error saying it was quarantined. ``run_at``
        and ``attempts`` are kept. Returns the rows after the change, oldest lease
        first. Rows another node is reclaiming right now are skipped.
        """
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT seq, crash_count, owner, pause_requested FROM tasks "
                "WHERE status = 'running' AND lease_expires_at <= %s "
                "ORDER BY lease_expires_at, seq FOR UPDATE SKIP LOCKED", (now,)).fetchall()
            if not rows:
                return []
            seqs: list[int] = []
            statuses: list[str] = []
            crash_counts: list[int] = []
            errors: list[str] = []
            finished: list[float | None] = []
            for seq, crashes, owner, paused in rows:
                next_state = reclaim(crashes, owner, pause_requested=bool(paused), max_crashes=max_crashes)
                seqs.append(seq)
                statuses.append(next_state.status.value)
                crash_counts.append(next_state.crash_count)
                errors.append(next_state.error)
                finished.append(now if next_state.status.finished else None)
            conn.execute(
                "UPDATE tasks SET status = v.status, crash_count = v.crash_count, error = v.error, "
                f"finished_at = v.finished_at, updated_at = %s, {pg.LEAVE_RUNNING} "
                "FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::text[], %s::float8[]) "
                "AS v(seq, status, crash_count, error, finished_at) WHERE tasks.seq = v.seq",
                (now, seqs, statuses, crash_counts, errors, finished))
            self._announce(conn, None)
            by_seq = {row[0]: codec.to_task(row[1:]) for row in conn.execute(
                pg.SELECT_SEQ + " WHERE seq = ANY(%s)", (seqs,))}
        return [by_seq[seq] for seq in seqs]

    def next_due(self, names: Collection[str]) -> float | None:
        """The earliest ``run_at`` of a PENDING task named in ``names``, or None."""
        wanted = sorted(set(names))
        if not wanted:
            return None
        with self._tx() as conn:
            row = conn.execute("SELECT MIN(run_at) FROM tasks WHERE status = 'pending' "
                               "AND name = ANY(%s)", (wanted,)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def next_lease_expiry(self) -> float | None:
        """The earliest ``lease_expires_at`` of any RUNNING task, or None."""
        with self._tx() as conn:
            row = conn.execute("SELECT MIN(lease_expires_at) FROM tasks WHERE status = 'running'").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def prune(self, before: float) -> int:
        """Delete SUCCEEDED / FAILED / CANCELLED tasks (and logs) with ``finished_at < before``."""
        with self._tx() as conn:
            ids = [row[0] for row in conn.execute(
                "DELETE FROM tasks WHERE finished_at < %s AND status = ANY(%s) RETURNING id",
                (before, _FINISHED))]
            if ids:
                conn.execute("DELETE FROM task_logs WHERE task_id = ANY(%s)", (ids,))
            self._prune_firings(conn, before)
        return len(ids)

    def changes_since(self, cursor: ChangeCursor | None, limit: int = 500) -> tuple[list[Task], ChangeCursor]:
        """See ``TaskStore.changes_since``: three indexed reads in one transaction.

        ``seq`` is an identity: a row whose insert commits after a later one's may have a lower
        seq than a cursor already past it; the follower reads a little behind its cursor."""
        with self._tx() as conn:
            if cursor is None:
                top = conn.execute("SELECT MAX(seq), MAX(finished_at) FROM tasks").fetchone()
                seq, finished = top if top is not None else (None, None)
                return [], ChangeCursor(int(seq or 0), float(finished or 0.0))
            new = [(int(row[0]), codec.to_task(row[1:])) for row in conn.execute(
                pg.SELECT_SEQ + " WHERE seq > %s ORDER BY seq LIMIT %s", (cursor.seq, limit))]
            running = [codec.to_task(row) for row in conn.execute(pg.SELECT + " WHERE status = 'running'")]
            finished_rows = [codec.to_task(row) for row in conn.execute(
                pg.SELECT + " WHERE finished_at >= %s ORDER BY finished_at LIMIT %s", (cursor.finished, limit))]
        return collect_changes(new, running, finished_rows, cursor)

    def counts(self) -> dict[str, int]:
        """Number of tasks by status value (every status present, zeros included)."""
        out = {status.value: 0 for status in TaskStatus}
        with self._tx() as conn:
            out.update((status, int(count)) for status, count in conn.execute(
                "SELECT status, COUNT(*) FROM tasks GROUP BY status"))
        return out

    def counts_by_queue(self) -> dict[str, dict[str, int]]:
        """Per queue (None counted as ``DEFAULT_QUEUE``), tasks by status value, zeros included."""
        out: dict[str, dict[str, int]] = {}
        with self._tx() as conn:
            rows = conn.execute("SELECT COALESCE(queue, %s), status, COUNT(*) FROM tasks GROUP BY 1, 2",
                                (DEFAULT_QUEUE,)).fetchall()
        for queue, status, count in rows:
            out.setdefault(str(queue), {value.value: 0 for value in TaskStatus})[str(status)] += int(count)
        return out

    def pending_names(self) -> dict[str, int]:
        """PENDING task counts by name (names with none are left out)."""
        with self._tx() as conn:
            return {name: int(count) for name, count in conn.execute(
                "SELECT name, COUNT(*) FROM tasks WHERE status = 'pending' GROUP BY name")}
