"""PostgresStore's user transitions: pause, resume, retry, cancel (see ``TaskStore``).

A mixin of ``PostgresStore`` (``store``); each is one transaction with the row locked.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from ...errors import TaskNotFound
from ...models import Task
from .._rules import RETRYABLE, not_paused, not_retryable
from ..sql import codec
from . import schema as pg

__all__ = ["PostgresTransitions"]


class PostgresTransitions:
    """Pause, resume, retry and cancel of ``PostgresStore``."""

    _tx: Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
    _announce: Callable[[psycopg.Connection[Any], float | None], None]

    @staticmethod
    def _status(conn: psycopg.Connection[Any], task_id: str) -> str:
        row = conn.execute("SELECT status FROM tasks WHERE id = %s FOR UPDATE", (task_id,)).fetchone()
        if row is None:
            raise TaskNotFound(task_id)
        return str(row[0])

    @staticmethod
    def _fetch(conn: psycopg.Connection[Any], task_id: str) -> Task:
        row = conn.execute(pg.SELECT + " WHERE id = %s", (task_id,)).fetchone()
        assert row is not None
        return codec.to_task(row)

    def pause(self, task_id: str, now: float) -> Task:
        """PENDING → PAUSED; RUNNING: pause requested (applied when the attempt ends).

        Any other state is left unchanged. Returns the task after the change.

        Raises:
            TaskNotFound: no such task.
        """
        with self._tx() as conn:
            status = self._status(conn, task_id)
            if status == "pending":
                conn.execute("UPDATE tasks SET status = 'paused', updated_at = %s WHERE id = %s",
                             (now, task_id))
            elif status == "running":
                conn.execute("UPDATE tasks SET pause_requested = TRUE, updated_at = %s WHERE id = %s",
                             (now, task_id))
            return self._fetch(conn, task_id)

    def resume(self, task_id: str, now: float) -> Task:
        """PAUSED → PENDING with ``failure_count = 0``; RUNNING: a requested pause is withdrawn.

        ``run_at`` is kept. Returns the task after.

        Raises:
            TaskNotFound: no such task. ValidationError: neither of those (``status``);
                nothing changes.
        """
        with self._tx() as conn:
            status = self._status(conn, task_id)
            if status == "paused":
                conn.execute("UPDATE tasks SET status = 'pending', failure_count = 0, updated_at = %s "
                             "WHERE id = %s", (now, task_id))
                self._announce(conn, None)
            elif status != "running" or not conn.execute(
                    "UPDATE tasks SET pause_requested = FALSE, updated_at = %s "
                    "WHERE id = %s AND pause_requested", (now, task_id)).rowcount:
                raise not_paused(status)
            return self._fetch(conn, task_id)

    def retry(self, task_id: str, now: float) -> Task:
        """FAILED / CANCELLED → PENDING due at ``now``, counts reset (``TaskStore.retry``); raises
        TaskNotFound, or ValidationError (``status``) for any other state."""
        with self._tx() as conn:
            status = self._status(conn, task_id)
            if status not in RETRYABLE:
                raise not_retryable(status)
            conn.execute("UPDATE tasks SET status = 'pending', run_at = %s, attempts = 0, failure_count = 0, "
                         "crash_count = 0, finished_at = NULL, updated_at = %s WHERE id = %s", (now, now, task_id))
            self._announce(conn, None)
            return self._fetch(conn, task_id)

    def cancel(self, task_id: str, now: float) -> Task | None:
        """PENDING / PAUSED / RUNNING → CANCELLED, lease dropped; returns the task as it was.

        A finished task is returned unchanged; an unknown id returns None.
        """
        with self._tx() as conn:
            row = conn.execute(pg.SELECT + " WHERE id = %s FOR UPDATE", (task_id,)).fetchone()
            if row is None:
                return None
            before = codec.to_task(row)
            if not before.status.finished:
                conn.execute("UPDATE tasks SET status = 'cancelled', finished_at = %s, updated_at = %s, "
                             f"{pg.LEAVE_RUNNING} WHERE id = %s", (now, now, task_id))
            return before
