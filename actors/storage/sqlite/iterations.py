"""SQLiteStore's iterations and durable steps: ``continue_tasks`` and ``save_step``.

A mixin of ``SQLiteStore`` (``store``); each write runs in one ``BEGIN IMMEDIATE``
transaction of the store's guarded connection and is fenced by the claim's token.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from ...iterations import check_step_key
from ..iterating import Continuation
from . import statements as sq
from .connection import Guarded

__all__ = ["SQLiteIterations"]


class SQLiteIterations:
    """``continue_tasks`` and ``save_step`` of ``SQLiteStore`` (see ``TaskStore``)."""

    _db: Guarded
    _announce: Callable[[sqlite3.Connection, float | None], None]

    def continue_tasks(self, continuations: Sequence[Continuation], now: float) -> list[str]:
        """Apply continuations in one transaction; returns the ids applied (see ``Continuation``)."""
        params = [(None if item.metadata is None else sq.dumps("metadata", dict(item.metadata)), item.run_at,
                   now, now, item.task_id, item.token) for item in continuations]
        if not params:
            return []
        applied: list[str] = []
        with self._db.tx() as conn:
            for values in params:
                changed = conn.execute(
                    "UPDATE tasks SET status = CASE WHEN pause_requested THEN 'paused' ELSE 'pending' END, "
                    "metadata = COALESCE(?, metadata), run_at = ?, iteration = iteration + 1, attempts = 0, "
                    "failure_count = 0, crash_count = 0, steps = '{}', error = NULL, result = 'null', "
                    f"finished_at = NULL, updated_at = ?, last_run_at = ?, {sq.LEAVE_RUNNING} "
                    "WHERE id = ? AND token = ? AND status = 'running'", values).rowcount
                if changed:
                    applied.append(values[4])
            if applied:
                self._announce(conn, min(item.run_at for item in continuations))
        return applied

    def save_step(self, task_id: str, token: str, key: str, value: Any, now: float) -> bool:
        """Keep step ``key`` of the running attempt (the first value stays); False if stale."""
        check_step_key(key)
        text = sq.dumps(key, value)
        with self._db.tx() as conn:
            row = conn.execute("SELECT steps FROM tasks WHERE id = ? AND token = ? AND status = 'running'",
                               (task_id, token)).fetchone()
            if row is None:
                return False
            steps = json.loads(row[0])
            steps.setdefault(key, json.loads(text))
            conn.execute("UPDATE tasks SET steps = ?, updated_at = ? WHERE id = ?",
                         (sq.dumps("steps", steps), now, task_id))
            return True
