"""Nodes, leases and schedules in SQL, shared by ``SQLiteStore`` and ``PostgresStore``.

Stdlib only: the statements below are plain SQL that both SQLite (3.24+) and
PostgreSQL accept (``INSERT ... ON CONFLICT``); they are written with ``?``
marks and a store whose driver wants ``%s`` sets ``_MARK``. A host store
provides ``_cluster_tx()`` (one transaction, yielding a connection with
``execute(sql, params)``) and ``_insert_fired(conn, tasks)`` (its task insert,
inside that transaction).

Tables (migration ``CLUSTER_DDL``):

* ``nodes`` — one row per serving supervisor, its heartbeat and expiry.
* ``leases`` — named leases with a holder and an expiry (the leader lease).
* ``schedules`` — cron / fixed-period schedules and their next fire time.
* ``schedule_firings`` — one row per (schedule key, fire time) ever fired: the
  primary key makes a second firing of the same time impossible, even by two
  leaders at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any

from ...clock import from_timestamp, to_timestamp
from ...models import Node, Schedule, Task
from ...spec import required_time
from ..base import Firing
from .codec import dumps, load

__all__ = ["CLUSTER_DDL", "SQLCluster"]

CLUSTER_DDL = """
CREATE TABLE nodes (
    node_id TEXT PRIMARY KEY,
    started_at DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    info TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE schedules (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    cron TEXT,
    every DOUBLE PRECISION,
    fields TEXT NOT NULL DEFAULT '{}',
    next_fire DOUBLE PRECISION NOT NULL,
    last_fire DOUBLE PRECISION,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX schedules_next ON schedules (next_fire);
CREATE TABLE schedule_firings (
    key TEXT NOT NULL,
    fire_time DOUBLE PRECISION NOT NULL,
    task_id TEXT NOT NULL,
    fired_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (key, fire_time)
);
CREATE INDEX schedule_firings_time ON schedule_firings (fired_at);
"""

_NODE = "SELECT node_id, started_at, heartbeat_at, expires_at, info FROM nodes"
_SCHEDULE = ("SELECT key, name, cron, every, fields, next_fire, last_fire, created_at, updated_at "
             "FROM schedules")
_REPLACE = ("ON CONFLICT (key) DO UPDATE SET name = excluded.name, cron = excluded.cron, "
            "every = excluded.every, fields = excluded.fields, "
            "next_fire = excluded.next_fire, updated_at = excluded.updated_at")
_KEEP = "ON CONFLICT (key) DO NOTHING"  # put_schedule(if_absent=True): the stored one stays


def _node(row: Sequence[Any]) -> Node:
    node_id, started, beat, expires, info = row
    return Node(node_id=node_id, started_at=from_timestamp(started), heartbeat_at=from_timestamp(beat),
                expires_at=from_timestamp(expires), info=load(info))


def _schedule(row: Sequence[Any]) -> Schedule:
    key, name, cron, every, fields, next_fire, last_fire, created, updated = row
    return Schedule(key=key, name=name, cron=cron, every=every, fields=load(fields),
                    next_fire=from_timestamp(next_fire), last_fire=from_timestamp(last_fire),
                    created_at=from_timestamp(created), updated_at=from_timestamp(updated))


@lru_cache(maxsize=64)
def _percent(statement: str) -> str:
    return statement.replace("?", "%s")


class SQLCluster:
    """The node, lease and schedule transitions of ``TaskStore`` for the SQL stores."""

    _MARK = "?"

    def _cluster_tx(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _insert_fired(self, conn: Any, tasks: Sequence[Task]) -> None:
        raise NotImplementedError

    def _announce(self, conn: Any, due: float | None) -> None:
        """Inside a transaction: tell other nodes work may be due (a store that can, does)."""

    def _run(self, conn: Any, statement: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(statement if self._MARK == "?" else _percent(statement), tuple(params))

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._cluster_tx() as conn:
            return list(self._run(conn, statement, params).fetchall())

    # --- nodes ------------------------------------------------------------------------

    def heartbeat(self, node_id: str, now: float, ttl: float, info: Mapping[str, Any]) -> None:
        """Record that ``node_id`` is alive until ``now + ttl`` (first call: registers it)."""
        with self._cluster_tx() as conn:
            self._run(conn, "INSERT INTO nodes (node_id, started_at, heartbeat_at, expires_at, info) "
                            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET "
                            "heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at, "
                            "info = excluded.info",
                      (node_id, now, now, now + ttl, dumps("info", dict(info))))

    def leave(self, node_id: str) -> None:
        """Remove the node's row (a graceful stop). Unknown ids are ignored."""
        with self._cluster_tx() as conn:
            self._run(conn, "DELETE FROM nodes WHERE node_id = ?", (node_id,))

    def nodes(self) -> list[Node]:
        """Every registered node, alive or not, oldest first."""
        return [_node(row) for row in self._rows(_NODE + " ORDER BY started_at, node_id")]

    def forget_nodes(self, expired_before: float) -> int:
        """Delete node rows whose heartbeat expired before ``expired_before``; returns how many."""
        with self._cluster_tx() as conn:
            return int(self._run(conn, "DELETE FROM nodes WHERE expires_at < ?", (expired_before,)).rowcount)

    # --- leases -----------------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        """Take or renew the lease ``name`` until ``now + ttl`` (free, ours, or expired)."""
        with self._cluster_tx() as conn:
            self._run(conn, "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                            "expires_at = excluded.expires_at "
                            "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
                      (name, holder, now + ttl, now))
            row = self._run(conn, "SELECT holder FROM leases WHERE name = ?", (name,)).fetchone()
        return row is not None and row[0] == holder

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up if ``holder`` has it; True if it did."""
        with self._cluster_tx() as conn:
            cursor = self._run(conn, "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
            return bool(cursor.rowcount)

    def lease_holder(self, name: str, now: float) -> str | None:
        """Who holds the unexpired lease ``name``, or None."""
        rows = self._rows("SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, now))
        return str(rows[0][0]) if rows else None

    # --- schedules --------------------------------------------------------------------

    def put_schedule(self, schedule: Schedule, *, if_absent: bool = False) -> Schedule:
        """Insert or replace the schedule ``schedule.key`` (``next_fire`` must be set);
        ``if_absent``: keep a stored one as it is (``ON CONFLICT DO NOTHING``)."""
        next_fire = required_time("next_fire", schedule.next_fire)
        created = required_time("created_at", schedule.created_at)
        updated = to_timestamp(schedule.updated_at) if schedule.updated_at is not None else created
        last = None if schedule.last_fire is None else to_timestamp(schedule.last_fire)
        with self._cluster_tx() as conn:
            self._run(conn, "INSERT INTO schedules (key, name, cron, every, fields, next_fire, last_fire, "
                            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                            + (_KEEP if if_absent else _REPLACE),
                      (schedule.key, schedule.name, schedule.cron, schedule.every,
                       dumps("fields", dict(schedule.fields)), next_fire, last, created, updated))
            self._announce(conn, next_fire)
            row = self._run(conn, _SCHEDULE + " WHERE key = ?", (schedule.key,)).fetchone()
        return _schedule(row)

    def schedules(self, due_before: float | None = None) -> list[Schedule]:
        """Schedules by key; only those with ``next_fire <= due_before`` when it is given."""
        if due_before is None:
            return [_schedule(row) for row in self._rows(_SCHEDULE + " ORDER BY key")]
        return [_schedule(row) for row in self._rows(_SCHEDULE + " WHERE next_fire <= ? ORDER BY key",
                                                     (due_before,))]

    def delete_schedule(self, key: str) -> bool:
        """Remove the schedule (its recorded firings stay until pruned); False if none."""
        with self._cluster_tx() as conn:
            return bool(self._run(conn, "DELETE FROM schedules WHERE key = ?", (key,)).rowcount)

    def next_fire(self) -> float | None:
        """The earliest ``next_fire`` of any schedule, or None."""
        rows = self._rows("SELECT MIN(next_fire) FROM schedules")
        return None if not rows or rows[0][0] is None else float(rows[0][0])

    def fire(self, firings: Sequence[Firing], now: float) -> list[str]:
        """Record firings in one transaction; returns the ids of the tasks created.

        A (key, fire_time) already in ``schedule_firings`` creates nothing; the
        schedule's ``next_fire`` moves only if it still is the firing's ``expected``.
        """
        if not firings:
            return []
        with self._cluster_tx() as conn:
            fresh: list[Task] = []
            for firing in firings:
                cursor = self._run(conn, "INSERT INTO schedule_firings (key, fire_time, task_id, fired_at) "
                                         "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                   (firing.key, firing.fire_time, firing.task.id, now))
                if cursor.rowcount == 1:
                    fresh.append(firing.task)
                self._run(conn, "UPDATE schedules SET next_fire = ?, last_fire = ?, updated_at = ? "
                                "WHERE key = ? AND next_fire = ?",
                          (firing.next_fire, firing.fire_time, now, firing.key, firing.expected))
            if fresh:
                self._insert_fired(conn, fresh)
        return [task.id for task in fresh]

    def _prune_firings(self, conn: Any, before: float) -> None:
        """Inside a host transaction: forget firings recorded before ``before``."""
        self._run(conn, "DELETE FROM schedule_firings WHERE fired_at < ?", (before,))
