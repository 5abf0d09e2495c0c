"""PostgresStore's leases and attempts: claim, renew, release, finish, progress, metadata, logs.

A mixin of ``PostgresStore`` (``store``); claims select due rows ``FOR UPDATE SKIP LOCKED``
and every write about an attempt is fenced by the claim's token.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import psycopg

from ...models import Claim, TaskStatus
from ...spec import check_finish_status
from .._gate import Gate
from ..base import ClaimRequest, Finish, LogRecord
from ..sql import codec
from . import schema as pg

__all__ = ["PostgresAttempts", "claims_of"]

_FINISHED = list(codec.FINISHED)
_CLAIM = (
    "WITH picked AS (SELECT seq FROM tasks WHERE status = 'pending' AND name = ANY(%s) "
    "AND run_at <= %s ORDER BY priority, run_at, seq LIMIT %s FOR UPDATE SKIP LOCKED) "
    "UPDATE tasks SET status = 'running', attempts = tasks.attempts + 1, owner = %s, "
    "token = replace(gen_random_uuid()::text, '-', ''), lease_expires_at = %s, updated_at = %s "
    "FROM picked WHERE tasks.seq = picked.seq RETURNING tasks.seq, tasks.token, "
    + ", ".join(f"tasks.{column}" for column in codec.TASK_COLUMNS))
_CLAIM_ONLY = _CLAIM.replace("AND run_at <= %s", "AND run_at <= %s AND COALESCE(queue, 'default') = ANY(%s)")
_FINISH = (
    "UPDATE tasks SET status = CASE WHEN v.status = 'pending' AND tasks.pause_requested "
    "THEN 'paused' ELSE v.status END, run_at = COALESCE(v.run_at, tasks.run_at), "
    "result = v.result, error = v.error, failure_count = v.failure_count, "
    "crash_count = v.crash_count, finished_at = CASE WHEN v.status = ANY(%s) THEN %s END, "
    f"updated_at = %s, last_run_at = %s, steps = CASE WHEN v.clear_steps THEN '{{}}' ELSE tasks.steps END, "
    f"{pg.LEAVE_RUNNING} "
    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::text[], %s::text[], "
    "%s::int[], %s::int[], %s::bool[]) "
    "AS v(id, token, status, run_at, result, error, failure_count, crash_count, clear_steps) "
    "WHERE tasks.id = v.id AND tasks.token = v.token AND tasks.status = 'running' RETURNING tasks.id")


def claims_of(rows: list[Any]) -> list[Claim]:
    """The claims of the rows a claim's UPDATE returned (``seq, token, *TASK_COLUMNS``), in
    claim order: priority, ``run_at``, then ``seq``."""
    rows.sort(key=lambda row: (row[2 + 4], row[2 + 11], row[0]))
    times: dict[float, datetime] = {}  # one datetime per time (every updated_at is the claim's now)
    return [Claim(codec.to_task(row[2:], times), row[1]) for row in rows]


class PostgresAttempts:
    """Claims and attempt ends of ``PostgresStore`` (see ``TaskStore``)."""

    _tx: Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
    _announce: Callable[[psycopg.Connection[Any], float | None], None]
    _gate_in: Callable[[psycopg.Connection[Any], float], Gate | None]
    _gated_claim: Callable[[psycopg.Connection[Any], ClaimRequest, float, Gate], list[Claim]]

    # --- leases ------------------------------------------------------------------------

    def claim(self, names: Collection[str], limit: int, now: float, owner: str,
              lease_ttl: float, queues: Collection[str] | None = None) -> list[Claim]:
        """Lease up to ``limit`` due PENDING tasks named in ``names`` (see ``TaskStore.claim``).

        One transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` in claim order, then
        one UPDATE giving each row a fresh random token. Rows another claimer holds
        locked are skipped, never shared. Limited queues: ``queues._gate_in``.
        """
        request = ClaimRequest(names, limit, owner, lease_ttl, queues)
        if not request.names or limit <= 0:
            return []
        with self._tx() as conn:
            return self._claim_in(conn, request, now)

    def _claim_in(self, conn: psycopg.Connection[Any], request: ClaimRequest, now: float) -> list[Claim]:
        """The claim, inside the caller's transaction, within the queues' limits."""
        if not request.names or request.limit <= 0:
            return []
        gate = self._gate_in(conn, now)
        self.claim_held_back = False
        if gate is not None:
            claims = self._gated_claim(conn, request, now, gate)
            self.claim_held_back = gate.held
            return claims
        if request.queues is None:
            rows = conn.execute(_CLAIM, (list(request.names), now, request.limit, request.owner,
                                         now + request.lease_ttl, now)).fetchall()
        else:
            rows = conn.execute(_CLAIM_ONLY, (list(request.names), now, list(request.queues), request.limit,
                                              request.owner, now + request.lease_ttl, now)).fetchall()
        return claims_of(rows)

    def renew(self, owner: str, now: float, lease_ttl: float) -> int:
        """Extend every lease ``owner`` holds to ``now + lease_ttl``; returns how many."""
        with self._tx() as conn:
            return conn.execute(
                "UPDATE tasks SET lease_expires_at = %s WHERE owner = %s AND status = 'running'",
                (now + lease_ttl, owner)).rowcount

    def release(self, claims: Sequence[tuple[str, str]], now: float) -> int:
        """RUNNING → PENDING (PAUSED if a pause was requested), ``attempts - 1``; stale pairs ignored."""
        if not claims:
            return 0
        pairs = list(dict.fromkeys((task_id, token) for task_id, token in claims))
        with self._tx() as conn:
            self._announce(conn, None)
            return conn.execute(
                "UPDATE tasks SET status = CASE WHEN pause_requested THEN 'paused' ELSE 'pending' END, "
                f"attempts = GREATEST(attempts - 1, 0), updated_at = %s, {pg.LEAVE_RUNNING} "
                "FROM unnest(%s::text[], %s::text[]) AS v(id, token) "
                "WHERE tasks.id = v.id AND tasks.token = v.token AND status = 'running'",
                (now, [p[0] for p in pairs], [p[1] for p in pairs])).rowcount

    def suspend(self, items: Sequence[tuple[str, str, float]], now: float) -> list[str]:
        """RUNNING → PENDING due at ``run_at``, ``attempts - 1`` (see ``TaskStore.suspend``)."""
        if not items:
            return []
        unique = list({(task_id, token): run_at for task_id, token, run_at in items}.items())
        with self._tx() as conn:
            self._announce(conn, min(run_at for _, run_at in unique))
            rows = conn.execute(
                "UPDATE tasks SET status = CASE WHEN pause_requested THEN 'paused' ELSE 'pending' END, "
                f"attempts = GREATEST(attempts - 1, 0), run_at = v.run_at, updated_at = %s, {pg.LEAVE_RUNNING} "
                "FROM unnest(%s::text[], %s::text[], %s::float8[]) AS v(id, token, run_at) "
                "WHERE tasks.id = v.id AND tasks.token = v.token AND status = 'running' RETURNING tasks.id, v.token",
                (now, [key[0] for key, _ in unique], [key[1] for key, _ in unique],
                 [run_at for _, run_at in unique])).fetchall()
        done = {(row[0], row[1]) for row in rows}
        return list(dict.fromkeys(task_id for task_id, token, _ in items if (task_id, token) in done))

    def finish(self, finishes: Sequence[Finish], now: float) -> list[str]:
        """Apply attempt ends in one transaction (one UPDATE); returns the ids applied, in order.

        A finish is applied only if the row is RUNNING under the same token; a
        second finish of the same attempt in one batch is stale. ``run_at`` None
        keeps the row's ``run_at``.

        Raises:
            ValidationError: a finish has status RUNNING or a non-JSON result;
                nothing is applied.
        """
        values = self._prepare_finishes(finishes)
        if not values:
            return []
        with self._tx() as conn:
            return self._finish_in(conn, values, now)

    def finish_and_claim(self, finishes: Sequence[Finish], now: float,
                         claim: ClaimRequest) -> tuple[list[str], list[Claim]]:
        """``finish`` then ``claim`` in one transaction (see ``TaskStore.finish_and_claim``)."""
        values = self._prepare_finishes(finishes)
        with self._tx() as conn:
            applied = self._finish_in(conn, values, now) if values else []
            return applied, self._claim_in(conn, claim, now)

    @staticmethod
    def _prepare_finishes(finishes: Sequence[Finish]) -> list[tuple[Finish, TaskStatus, str]]:
        """One finish per attempt, with its status and encoded result; ``ValidationError`` first."""
        picked: dict[tuple[str, str], tuple[Finish, TaskStatus, str]] = {}
        for item in finishes:
            status = check_finish_status(item.status)
            result = codec.dumps("result", item.result)
            picked.setdefault((item.task_id, item.token), (item, status, result))
        return list(picked.values())

    def _finish_in(self, conn: psycopg.Connection[Any], values: list[tuple[Finish, TaskStatus, str]],
                   now: float) -> list[str]:
        """The finish (one UPDATE), inside the caller's transaction."""
        applied = {row[0] for row in conn.execute(_FINISH, (
            _FINISHED, now, now, now,
            [v[0].task_id for v in values], [v[0].token for v in values],
            [v[1].value for v in values], [v[0].run_at for v in values],
            [v[2] for v in values], [v[0].error for v in values],
            [v[0].failure_count for v in values], [v[0].crash_count for v in values],
            [v[0].clear_steps for v in values]))}
        again = [v[0].run_at for v in values if v[1] is TaskStatus.PENDING and v[0].run_at is not None]
        if again:
            self._announce(conn, min(again))
        out: list[str] = []
        for item, _status, _result in values:
            if item.task_id in applied:
                applied.discard(item.task_id)
                out.append(item.task_id)
        return out

    def set_progress(self, task_id: str, token: str, progress: float, now: float) -> bool:
        """Record progress of a running attempt; False if the token is stale."""
        with self._tx() as conn:
            return conn.execute(
                "UPDATE tasks SET progress = %s, updated_at = %s "
                "WHERE id = %s AND token = %s AND status = 'running'",
                (progress, now, task_id, token)).rowcount == 1

    def merge_metadata(self, task_id: str, token: str | None, values: Mapping[str, Any],
                       now: float) -> bool:
        """Shallow-merge ``values`` into the metadata; False if no such task or a stale token.

        With ``token`` None the merge applies to the task in any state.

        Raises:
            ValidationError: ``values`` is not JSON; nothing changes.
        """
        patch = json.loads(codec.dumps("metadata", dict(values)))
        fence = "" if token is None else " AND token = %s AND status = 'running'"
        params = (task_id,) if token is None else (task_id, token)
        with self._tx() as conn:
            row = conn.execute(f"SELECT metadata FROM tasks WHERE id = %s{fence} FOR UPDATE".encode(),
                               params).fetchone()
            if row is None:
                return False
            merged = {**json.loads(row[0]), **patch}
            conn.execute("UPDATE tasks SET metadata = %s, updated_at = %s WHERE id = %s",
                         (codec.dumps("metadata", merged), now, task_id))
            return True

    def append_logs(self, records: Sequence[LogRecord]) -> None:
        """Keep log lines with their attempt; lines of tasks that do not exist are dropped."""
        if not records:
            return
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO task_logs (task_id, attempt, created, level, message, iteration) "
                "SELECT v.task_id, v.attempt, v.created, v.level, v.message, v.iteration FROM unnest("
                "%s::text[], %s::int[], %s::float8[], %s::text[], %s::text[], %s::int[]) WITH ORDINALITY "
                "AS v(task_id, attempt, created, level, message, iteration, n) "
                "WHERE EXISTS (SELECT 1 FROM tasks WHERE tasks.id = v.task_id) ORDER BY v.n",
                ([r.task_id for r in records], [r.attempt for r in records],
                 [r.created for r in records], [r.level for r in records],
                 [r.message for r in records], [r.iteration for r in records]))

    def logs(self, task_id: str, iteration: int | None = None) -> list[LogRecord]:
        """The task's log lines, oldest first (by ``created``, then by arrival): those of
        ``iteration``, or all of them (None)."""
        where, params = ("", (task_id,)) if iteration is None else (" AND iteration = %s", (task_id, iteration))
        with self._tx() as conn:
            return [LogRecord(*row) for row in conn.execute(
                ("SELECT task_id, attempt, created, level, message, iteration FROM task_logs "
                 f"WHERE task_id = %s{where} ORDER BY created, seq").encode(), params)]
