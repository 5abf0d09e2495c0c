"""SQLiteStore's leases and attempts: claim, renew, release, finish, progress, metadata, logs.

A mixin of ``SQLiteStore`` (``store``); every write runs in one ``BEGIN IMMEDIATE``
transaction of the store's guarded connection and is fenced by the claim's token.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from ...models import PRIORITIES, Claim, TaskStatus
from ...spec import check_finish_status
from .._gate import Gate, gated, queue_of
from ..base import ClaimRequest, Finish, LogRecord
from . import statements as sq
from .connection import Guarded

__all__ = ["SQLiteAttempts"]

_ENDS = frozenset(status for status in TaskStatus if status.finished)  # a finish there sets finished_at
_AT_QUEUE, _AT_KEY = (1 + sq.TASK_COLUMNS.index(column) for column in ("queue", "concurrency_key"))


class SQLiteAttempts:
    """Claims and attempt ends of ``SQLiteStore`` (see ``TaskStore``)."""

    _db: Guarded
    _announce: Callable[[sqlite3.Connection, float | None], None]
    _gate_in: Callable[[sqlite3.Connection, float], Gate | None]
    _record_in: Callable[[sqlite3.Connection, Gate, float], None]

    # --- leases ------------------------------------------------------------------------

    def claim(self, names: Collection[str], limit: int, now: float, owner: str,
              lease_ttl: float, queues: Collection[str] | None = None) -> list[Claim]:
        """Lease up to ``limit`` due PENDING tasks named in ``names`` (see ``TaskStore.claim``).

        Due means ``run_at <= now``. Empty ``names`` or ``limit <= 0`` claims nothing.
        """
        request = ClaimRequest(names, limit, owner, lease_ttl, queues)
        if not request.names or limit <= 0:
            return []
        with self._db.tx() as conn:
            return self._claim_in(conn, request, now)

    def _claim_in(self, conn: sqlite3.Connection, request: ClaimRequest, now: float) -> list[Claim]:
        """The claim, inside the caller's write transaction, within the queues' limits."""
        wanted, limit = request.names, request.limit
        if not wanted or limit <= 0:
            return []
        only = () if request.queues is None else (json.dumps(request.queues),)
        gate = self._gate_in(conn, now)
        self.claim_held_back = False

        def fetch(size: int, blocked: list[str] | None, keys: list[tuple[str, str]] | None) -> list[Any]:
            extra = only if blocked is None else (*only, json.dumps(blocked),
                                                  json.dumps(keys or []))
            params: list[Any] = []
            for _ in PRIORITIES:
                for name in wanted:
                    params.extend((name, now, *extra, size))
            params.append(size)
            sql = sq.claim_sql(len(wanted), bool(only), blocked is not None)
            return sorted(conn.execute(sql, params), key=sq.claim_order)

        if gate is None:
            rows = fetch(limit, None, None)
        else:
            rows = gated(fetch, limit, gate, lambda row: (row[0], queue_of(row[_AT_QUEUE]), row[_AT_KEY]))
            self._record_in(conn, gate, now)
            self.claim_held_back = gate.held
        if not rows:
            return []
        raw = os.urandom(16 * len(rows)).hex()  # one read of the random source per claim
        tokens = [raw[at:at + 32] for at in range(0, len(raw), 32)]
        expires = now + request.lease_ttl
        conn.executemany(
            "UPDATE tasks SET status = 'running', attempts = attempts + 1, owner = ?, token = ?, "
            "lease_expires_at = ?, updated_at = ? WHERE seq = ?",
            [(request.owner, token, expires, now, row[0]) for row, token in zip(rows, tokens, strict=True)])
        claims: list[Claim] = []
        times: dict[float, datetime] = {}  # one datetime per time (every updated_at is now)
        for row, token in zip(rows, tokens, strict=True):
            values = list(row[1:])  # as it was; patch what the UPDATE changed
            values[sq.AT_STATUS], values[sq.AT_UPDATED] = sq.RUNNING_VALUE, now
            values[sq.AT_ATTEMPTS] += 1
            claims.append(Claim(sq.to_task(values, times), token))
        return claims

    def renew(self, owner: str, now: float, lease_ttl: float) -> int:
        """Extend every lease ``owner`` holds to ``now + lease_ttl``; returns how many."""
        with self._db.tx() as conn:
            return conn.execute(
                "UPDATE tasks SET lease_expires_at = ? WHERE owner = ? AND status = 'running'",
                (now + lease_ttl, owner)).rowcount

    def release(self, claims: Sequence[tuple[str, str]], now: float) -> int:
        """RUNNING → PENDING (PAUSED if a pause was requested), ``attempts - 1``; stale pairs ignored."""
        if not claims:
            return 0
        with self._db.tx() as conn:
            self._announce(conn, None)
            return conn.executemany(
                "UPDATE tasks SET status = CASE WHEN pause_requested THEN 'paused' ELSE 'pending' END, "
                f"attempts = MAX(attempts - 1, 0), updated_at = ?, {sq.LEAVE_RUNNING} "
                "WHERE id = ? AND token = ? AND status = 'running'",
                [(now, task_id, token) for task_id, token in claims]).rowcount

    def suspend(self, items: Sequence[tuple[str, str, float]], now: float) -> list[str]:
        """RUNNING → PENDING due at ``run_at``, ``attempts - 1`` (see ``TaskStore.suspend``)."""
        applied: list[str] = []
        if not items:
            return applied
        with self._db.tx() as conn:
            self._announce(conn, min(run_at for _, _, run_at in items))
            for task_id, token, run_at in items:
                if conn.execute(
                        "UPDATE tasks SET status = CASE WHEN pause_requested THEN 'paused' ELSE 'pending' END, "
                        f"attempts = MAX(attempts - 1, 0), run_at = ?, updated_at = ?, {sq.LEAVE_RUNNING} "
                        "WHERE id = ? AND token = ? AND status = 'running'",
                        (run_at, now, task_id, token)).rowcount:
                    applied.append(task_id)
        return applied

    def finish(self, finishes: Sequence[Finish], now: float) -> list[str]:
        """Apply attempt ends in one transaction; returns the ids applied, in order.

        A finish is applied only if the row is RUNNING under the same token; a
        second finish of the same attempt in one batch is stale. ``run_at`` None
        keeps the row's ``run_at``.

        Raises:
            ValidationError: a finish has status RUNNING or a non-JSON result;
                nothing is applied.
        """
        prepared = self._prepare_finishes(finishes)
        if not finishes:
            return []
        with self._db.tx() as conn:
            return self._finish_in(conn, prepared, now)

    def finish_and_claim(self, finishes: Sequence[Finish], now: float,
                         claim: ClaimRequest) -> tuple[list[str], list[Claim]]:
        """``finish`` then ``claim`` in one transaction (see ``TaskStore.finish_and_claim``)."""
        prepared = self._prepare_finishes(finishes)
        with self._db.tx() as conn:
            applied = self._finish_in(conn, prepared, now) if finishes else []
            return applied, self._claim_in(conn, claim, now)

    @staticmethod
    def _prepare_finishes(finishes: Sequence[Finish]) -> list[tuple[Finish, TaskStatus, str]]:
        """Each finish with its status and encoded result; ``ValidationError`` before any write."""
        prepared: list[tuple[Finish, TaskStatus, str]] = []
        for item in finishes:
            status = check_finish_status(item.status)
            prepared.append((item, status, sq.dumps("result", item.result)))
        return prepared

    @staticmethod
    def _finish_in(conn: sqlite3.Connection, prepared: list[tuple[Finish, TaskStatus, str]],
                   now: float) -> list[str]:
        """The finish, inside the caller's write transaction.

        One read of the live rows (RUNNING, by id), then one UPDATE per finish applied, by the
        row's ``seq`` (its rowid: no second look-up in the id index), fenced again by token.
        """
        ids = list(dict.fromkeys(item.task_id for item, _, _ in prepared))
        live: dict[str, tuple[int, str, int]] = {}
        for chunk in sq.chunks(ids):
            for task_id, seq, token, paused in conn.execute(
                    "SELECT id, seq, token, pause_requested FROM tasks WHERE status = 'running' "
                    f"AND id IN ({sq.marks(len(chunk))})", chunk):
                live[task_id] = (seq, token, paused)
        applied: list[str] = []
        params: list[tuple[Any, ...]] = []
        for item, status, result in prepared:
            current = live.get(item.task_id)
            if current is None or current[1] != item.token:
                continue
            del live[item.task_id]
            if status is TaskStatus.PENDING and current[2]:
                status = TaskStatus.PAUSED
            params.append((status.value, item.run_at, result, item.error, item.failure_count,
                           item.crash_count, now if status in _ENDS else None, now, now, item.clear_steps,
                           current[0], item.token))
            applied.append(item.task_id)
        conn.executemany(
            "UPDATE tasks SET status = ?, run_at = COALESCE(?, run_at), result = ?, error = ?, "
            "failure_count = ?, crash_count = ?, finished_at = ?, updated_at = ?, last_run_at = ?, "
            "steps = CASE WHEN ? THEN '{}' ELSE steps END, "
            f"{sq.LEAVE_RUNNING} WHERE seq = ? AND token = ? AND status = 'running'", params)
        return applied

    def set_progress(self, task_id: str, token: str, progress: float, now: float) -> bool:
        """Record progress of a running attempt; False if the token is stale."""
        with self._db.tx() as conn:
            return conn.execute(
                "UPDATE tasks SET progress = ?, updated_at = ? "
                "WHERE id = ? AND token = ? AND status = 'running'",
                (progress, now, task_id, token)).rowcount == 1

    def merge_metadata(self, task_id: str, token: str | None, values: Mapping[str, Any],
                       now: float) -> bool:
        """Shallow-merge ``values`` into the metadata; False if no such task or a stale token.

        With ``token`` None the merge applies to the task in any state.

        Raises:
            ValidationError: ``values`` is not JSON; nothing changes.
        """
        patch = json.loads(sq.dumps("metadata", dict(values)))
        fence = "" if token is None else " AND token = ? AND status = 'running'"
        params = (task_id,) if token is None else (task_id, token)
        with self._db.tx() as conn:
            row = conn.execute(f"SELECT metadata FROM tasks WHERE id = ?{fence}", params).fetchone()
            if row is None:
                return False
            merged = {**json.loads(row[0]), **patch}
            conn.execute("UPDATE tasks SET metadata = ?, updated_at = ? WHERE id = ?",
                         (sq.dumps("metadata", merged), now, task_id))
            return True

    def append_logs(self, records: Sequence[LogRecord]) -> None:
        """Keep log lines with their attempt; lines of tasks that do not exist are dropped."""
        if not records:
            return
        with self._db.tx() as conn:
            conn.executemany(
                "INSERT INTO task_logs (task_id, attempt, created, level, message, iteration) "
                "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ?)",
                [(r.task_id, r.attempt, r.created, r.level, r.message, r.iteration, r.task_id) for r in records])

    def logs(self, task_id: str, iteration: int | None = None) -> list[LogRecord]:
        """The task's log lines, oldest first (by ``created``, then by arrival): those of
        ``iteration``, or all of them (None)."""
        where, params = ("", (task_id,)) if iteration is None else (" AND iteration = ?", (task_id, iteration))
        with self._db.read() as conn:
            return [LogRecord(*row) for row in conn.execute(
                "SELECT task_id, attempt, created, level, message, iteration FROM task_logs "
                f"WHERE task_id = ?{where} ORDER BY created, seq", params)]
