"""PostgresStore's queue settings: ``set_queue``, ``queues`` and the gated claim.

A mixin of ``PostgresStore`` (``store``). A claim first reads the settings of the queues
that restrict claims, locking their rows ``FOR UPDATE`` (in name order): two nodes'
claims over a limited queue then run one after the other, and the second counts the
first's RUNNING rows and starts (READ COMMITTED: each statement after the lock sees what
the first committed), so two nodes never both take the last slot. With no limited queue
the read returns nothing, locks nothing, and the claim is the plain one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from ...models import Claim, QueueInfo
from ...spec.queues import check_queue_changes, check_queue_name
from .._gate import Gate, changed, gated, listing, queue_of
from ..base import ClaimRequest
from ..sql import codec
from .attempts import claims_of

__all__ = ["PostgresQueues"]

_QUEUE = "COALESCE(queue, 'default')"
_SETTINGS = "SELECT name, concurrency, key_concurrency, rate_count, rate_period, paused FROM queues"
_LIMITED = (_SETTINGS + " WHERE paused OR concurrency IS NOT NULL OR key_concurrency IS NOT NULL "
            "OR rate_count IS NOT NULL ORDER BY name FOR UPDATE")
_CANDIDATES = (
    f"SELECT seq, {_QUEUE}, concurrency_key FROM tasks WHERE status = 'pending' AND name = ANY(%s) "
    f"AND run_at <= %s AND (%s::text[] IS NULL OR {_QUEUE} = ANY(%s::text[])) AND {_QUEUE} <> ALL(%s::text[]) "
    "AND NOT EXISTS (SELECT 1 FROM unnest(%s::text[], %s::text[]) AS b(q, k) "
    f"WHERE b.q = {_QUEUE} AND b.k = tasks.concurrency_key) "
    "ORDER BY priority, run_at, seq LIMIT %s FOR UPDATE SKIP LOCKED")
_TAKE = (
    "UPDATE tasks SET status = 'running', attempts = tasks.attempts + 1, owner = %s, "
    "token = replace(gen_random_uuid()::text, '-', ''), lease_expires_at = %s, updated_at = %s "
    "WHERE seq = ANY(%s) RETURNING tasks.seq, tasks.token, "
    + ", ".join(f"tasks.{column}" for column in codec.TASK_COLUMNS))


def _info(row: tuple[Any, ...]) -> QueueInfo:
    name, concurrency, key_concurrency, count, period, paused = row
    return QueueInfo(name, concurrency, key_concurrency, None if count is None else (count, period), bool(paused))


class PostgresQueues:
    """Queue settings of ``PostgresStore`` (see ``TaskStore.set_queue``)."""

    _tx: Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
    _announce: Callable[[psycopg.Connection[Any], float | None], None]
    counts_by_queue: Callable[[], dict[str, dict[str, int]]]

    def set_queue(self, name: str, changes: Mapping[str, Any]) -> QueueInfo:
        """Declare or change queue ``name`` (see ``TaskStore.set_queue``); NOTIFY wakes the nodes."""
        name = check_queue_name(name)
        checked = check_queue_changes(changes)
        with self._tx() as conn:
            conn.execute("INSERT INTO queues (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (name,))
            row = conn.execute(_SETTINGS + " WHERE name = %s FOR UPDATE", (name,)).fetchone()
            assert row is not None  # inserted above
            info = changed(name, _info(row), checked)
            rate = info.rate_limit or (None, None)
            conn.execute("UPDATE queues SET concurrency = %s, key_concurrency = %s, rate_count = %s, "
                         "rate_period = %s, paused = %s WHERE name = %s",
                         (info.concurrency, info.key_concurrency, rate[0], rate[1], info.paused, name))
            self._announce(conn, None)
        return next(queue for queue in self.queues() if queue.name == name)

    def queues(self) -> list[QueueInfo]:
        """Every declared queue and every queue with tasks (see ``TaskStore.queues``)."""
        with self._tx() as conn:
            settings = [_info(row) for row in conn.execute(_SETTINGS)]
        return listing(settings, self.counts_by_queue())

    @staticmethod
    def _gate_in(conn: psycopg.Connection[Any], now: float) -> Gate | None:
        """Inside the claim's transaction: lock the limited queues' rows and build the gate
        (None, nothing locked, when no queue restricts claims)."""
        limited = {info.name: info for info in map(_info, conn.execute(_LIMITED).fetchall())}
        if not limited:
            return None
        names = sorted(limited)
        running = conn.execute(
            f"SELECT {_QUEUE}, concurrency_key, COUNT(*) FROM tasks WHERE status = 'running' "
            f"AND {_QUEUE} = ANY(%s) GROUP BY 1, 2", (names,)).fetchall()
        starts: dict[str, list[float]] = {}
        for name, info in limited.items():
            if info.rate_limit is not None:
                conn.execute("DELETE FROM queue_starts WHERE queue = %s AND started <= %s",
                             (name, now - info.rate_limit[1]))
                starts[name] = [at for (at,) in conn.execute(
                    "SELECT started FROM queue_starts WHERE queue = %s", (name,))]
        return Gate(limited, [(q, k, int(n)) for q, k, n in running], starts, now)

    @staticmethod
    def _gated_claim(conn: psycopg.Connection[Any], request: ClaimRequest, now: float, gate: Gate) -> list[Claim]:
        """The claim within the gate's limits, inside the caller's transaction."""
        only = None if request.queues is None else list(request.queues)

        def fetch(size: int, blocked: list[str], keys: list[tuple[str, str]]) -> list[Any]:
            return conn.execute(_CANDIDATES, (
                list(request.names), now, only, only, blocked, [q for q, _ in keys], [k for _, k in keys],
                size)).fetchall()

        picked = gated(fetch, request.limit, gate, lambda row: (row[0], queue_of(row[1]), row[2]))
        rated = gate.rated()
        if rated:
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO queue_starts (queue, started) VALUES (%s, %s)",
                                [(queue, now) for queue in rated])
        if not picked:
            return []
        rows = conn.execute(_TAKE, (request.owner, now + request.lease_ttl, now,
                                    [row[0] for row in picked])).fetchall()
        return claims_of(rows)
