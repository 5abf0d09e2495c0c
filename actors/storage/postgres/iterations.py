"""PostgresStore's iterations and durable steps: ``continue_tasks`` and ``save_step``.

A mixin of ``PostgresStore`` (``store``); each write is one transaction, fenced by the
claim's token.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from ...iterations import check_step_key
from ..iterating import Continuation
from ..sql import codec
from . import schema as pg

__all__ = ["PostgresIterations"]

_CONTINUE = (
    "UPDATE tasks SET status = CASE WHEN tasks.pause_requested THEN 'paused' ELSE 'pending' END, "
    "metadata = COALESCE(v.metadata, tasks.metadata), run_at = v.run_at, iteration = tasks.iteration + 1, "
    "attempts = 0, failure_count = 0, crash_count = 0, steps = '{}', error = NULL, result = 'null', "
    f"finished_at = NULL, updated_at = %s, last_run_at = %s, {pg.LEAVE_RUNNING} "
    "FROM unnest(%s::text[], %s::text[], %s::float8[], %s::text[]) AS v(id, token, run_at, metadata) "
    "WHERE tasks.id = v.id AND tasks.token = v.token AND tasks.status = 'running' RETURNING tasks.id")


class PostgresIterations:
    """``continue_tasks`` and ``save_step`` of ``PostgresStore`` (see ``TaskStore``)."""

    _tx: Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
    _announce: Callable[[psycopg.Connection[Any], float | None], None]

    def continue_tasks(self, continuations: Sequence[Continuation], now: float) -> list[str]:
        """Apply continuations in one transaction (one UPDATE); returns the ids applied, in order."""
        picked = list({(item.task_id, item.token): item for item in reversed(continuations)}.values())[::-1]
        metadata = [None if item.metadata is None else codec.dumps("metadata", dict(item.metadata))
                    for item in picked]
        if not picked:
            return []
        with self._tx() as conn:
            applied = {row[0] for row in conn.execute(_CONTINUE, (
                now, now, [item.task_id for item in picked], [item.token for item in picked],
                [item.run_at for item in picked], metadata))}
            if applied:
                self._announce(conn, min(item.run_at for item in picked))
        return [item.task_id for item in picked if item.task_id in applied]

    def save_step(self, task_id: str, token: str, key: str, value: Any, now: float) -> bool:
        """Keep step ``key`` of the running attempt (the first value stays); False if stale."""
        check_step_key(key)
        text = codec.dumps(key, value)
        with self._tx() as conn:
            row = conn.execute("SELECT steps FROM tasks WHERE id = %s AND token = %s AND status = 'running' "
                               "FOR UPDATE", (task_id, token)).fetchone()
            if row is None:
                return False
            steps = json.loads(row[0])
            steps.setdefault(key, json.loads(text))
            conn.execute("UPDATE tasks SET steps = %s, updated_at = %s WHERE id = %s",
                         (codec.dumps("steps", steps), now, task_id))
            return True
