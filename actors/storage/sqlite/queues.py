"""SQLiteStore's queue settings: ``set_queue``, ``queues`` and the gate of a claim.

A mixin of ``SQLiteStore`` (``store``). The gate is read inside the claim's ``BEGIN
IMMEDIATE`` transaction (one writer at a time on the file), so the RUNNING counts and
the recorded starts it sees cannot change before the claim commits: the limits are exact
across every process on the file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from ...models import QueueInfo
from ...spec.queues import check_queue_changes, check_queue_name
from .._gate import Gate, changed, listing
from .connection import Guarded

__all__ = ["QUEUE", "SQLiteQueues"]

#: A row's queue as SQL (a task without one is in "default").
QUEUE = "COALESCE(queue, 'default')"
_SETTINGS = "SELECT name, concurrency, key_concurrency, rate_count, rate_period, paused FROM queues"


def _info(row: tuple[Any, ...]) -> QueueInfo:
    name, concurrency, key_concurrency, count, period, paused = row
    return QueueInfo(name, concurrency, key_concurrency, None if count is None else (count, period), bool(paused))


class SQLiteQueues:
    """Queue settings of ``SQLiteStore`` (see ``TaskStore.set_queue``)."""

    _db: Guarded
    _announce: Callable[[sqlite3.Connection, float | None], None]
    counts_by_queue: Callable[[], dict[str, dict[str, int]]]

    def set_queue(self, name: str, changes: Mapping[str, Any]) -> QueueInfo:
        """Declare or change queue ``name`` (see ``TaskStore.set_queue``); wakes the other nodes."""
        name = check_queue_name(name)
        checked = check_queue_changes(changes)
        with self._db.tx() as conn:
            row = conn.execute(_SETTINGS + " WHERE name = ?", (name,)).fetchone()
            info = changed(name, None if row is None else _info(row), checked)
            rate = info.rate_limit or (None, None)
            conn.execute(
                "INSERT INTO queues (name, concurrency, key_concurrency, rate_count, rate_period, paused) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET concurrency = excluded.concurrency, "
                "key_concurrency = excluded.key_concurrency, rate_count = excluded.rate_count, "
                "rate_period = excluded.rate_period, paused = excluded.paused",
                (name, info.concurrency, info.key_concurrency, rate[0], rate[1], int(info.paused)))
            self._announce(conn, None)
        return next(queue for queue in self.queues() if queue.name == name)

    def queues(self) -> list[QueueInfo]:
        """Every declared queue and every queue with tasks (see ``TaskStore.queues``)."""
        with self._db.read() as conn:
            settings = [_info(row) for row in conn.execute(_SETTINGS)]
        return listing(settings, self.counts_by_queue())

    @staticmethod
    def _gate_in(conn: sqlite3.Connection, now: float) -> Gate | None:
        """Inside the claim's transaction: its gate, or None when no queue restricts claims
        (one read of the small ``queues`` table; the claim's SQL is then unchanged)."""
        limited = {info.name: info for info in map(_info, conn.execute(_SETTINGS)) if info.limited}
        if not limited:
            return None
        names = json.dumps(sorted(limited))
        running = conn.execute(
            f"SELECT {QUEUE}, concurrency_key, COUNT(*) FROM tasks WHERE status = 'running' "
            f"AND {QUEUE} IN (SELECT value FROM json_each(?)) GROUP BY 1, 2", (names,)).fetchall()
        starts: dict[str, list[float]] = {}
        for name, info in limited.items():
            if info.rate_limit is not None:
                conn.execute("DELETE FROM queue_starts WHERE queue = ? AND started <= ?",
                             (name, now - info.rate_limit[1]))
                starts[name] = [at for (at,) in conn.execute(
                    "SELECT started FROM queue_starts WHERE queue = ?", (name,))]
        return Gate(limited, running, starts, now)

    @staticmethod
    def _record_in(conn: sqlite3.Connection, gate: Gate, now: float) -> None:
        """Inside the claim's transaction: record the starts of rate-limited queues."""
        rated = gate.rated()
        if rated:
            conn.executemany("INSERT INTO queue_starts (queue, started) VALUES (?, ?)",
                             [(queue, now) for queue in rated])
