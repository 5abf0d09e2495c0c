"""The SQLite task store's schema: its versions and migrations (opening is in
``connection``, SQL text in ``statements``, the row codec in ``sql.codec``).

Private to ``actors.storage.sqlite`` (which holds the transitions). The schema
version lives in the ``actors_meta`` table (``key = 'schema_version'``); ``MIGRATIONS[i]`` brings a
database from version ``i`` to ``i + 1`` and all of them run inside one
``BEGIN IMMEDIATE`` transaction, so two processes opening a fresh file at the
same time never both create the tables.

A file this code cannot use — not a database, a directory, a database whose
``tasks`` / ``task_tags`` / ``task_logs`` tables belong to someone else, or a
schema newer than ``SCHEMA_VERSION`` — raises ``StoreError`` naming the path.
A database that merely holds other, unrelated tables is accepted: the task
tables are added next to them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ...errors import StoreError
from ..sql.cluster import CLUSTER_DDL
from ..sql.codec import (
    TASK_COLUMNS,
)

__all__ = ["MIGRATIONS", "PRIVATE_COLUMNS", "SCHEMA_VERSION", "migrate"]

#: Columns that only the store sees (lease and bookkeeping).
PRIVATE_COLUMNS: tuple[str, ...] = ("seq", "owner", "token", "lease_expires_at", "pause_requested",
                                    "last_run_at")

_OWN_TABLES = ("tasks", "task_tags", "task_logs", "nodes", "leases", "schedules", "schedule_firings")

# Index notes (claims must stay fast with millions of future and finished rows, and
# bulk inserts must touch few b-trees: a new row costs the table, the id index,
# tasks_claim and one task_tags entry per tag; the partial indexes only see rows
# that have a value):
# * tasks_claim (status, name, priority, run_at): one range per (name, tier) stops at
#   ``run_at <= now`` and is already in (run_at, seq) order (seq is the rowid, the
#   implicit last column), so claims never sort and never walk past due rows of
#   names this node cannot run. It also serves next_due, pending_names, counts and
#   status / name queries.
# * tasks_lease (lease_expires_at) over RUNNING rows only: reclaim, next_lease_expiry.
# * task_tags is keyed (tag, task_seq) only: a tag's tasks come out in creation
#   order, so a tag query with a limit stops early. A task's tags are also in its
#   JSON column, so deleting them is a key lookup per tag without a second index.
_V1 = """
CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    queue TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    room_id TEXT,
    world_id TEXT,
    entity_id TEXT,
    run_at REAL,
    update_interval REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    failure_count INTEGER NOT NULL DEFAULT 0,
    crash_count INTEGER NOT NULL DEFAULT 0,
    progress REAL,
    result TEXT NOT NULL DEFAULT 'null',
    error TEXT,
    created_at REAL,
    updated_at REAL,
    finished_at REAL,
    max_attempts INTEGER,
    max_failures INTEGER NOT NULL DEFAULT 5,
    timeout REAL,
    retry TEXT,
    idempotency_key TEXT,
    owner TEXT,
    token TEXT,
    lease_expires_at REAL,
    pause_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tasks_claim ON tasks (status, name, priority, run_at);
CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE status = 'running';
CREATE INDEX tasks_owner ON tasks (owner) WHERE owner IS NOT NULL;
CREATE UNIQUE INDEX tasks_idempotency ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_room ON tasks (room_id) WHERE room_id IS NOT NULL;
CREATE INDEX tasks_world ON tasks (world_id) WHERE world_id IS NOT NULL;
CREATE INDEX tasks_entity ON tasks (entity_id) WHERE entity_id IS NOT NULL;
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE task_tags (
    tag TEXT NOT NULL,
    task_seq INTEGER NOT NULL,
    PRIMARY KEY (tag, task_seq)
) WITHOUT ROWID;
CREATE TABLE task_logs (
    seq INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    created REAL NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX task_logs_task ON task_logs (task_id, created);
"""


def _migrate_to_1(conn: sqlite3.Connection) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            conn.execute(statement)


def _migrate_to_2(conn: sqlite3.Connection) -> None:
    """Nodes, leases and schedules (``sql.cluster``)."""
    for statement in CLUSTER_DDL.split(";"):
        if statement.strip():
            conn.execute(statement)


def _migrate_to_3(conn: sqlite3.Connection) -> None:
    """``last_run_at``: when a task's last attempt ended (a new interval counts from it)."""
    conn.execute("ALTER TABLE tasks ADD COLUMN last_run_at REAL")


#: ``MIGRATIONS[i]`` upgrades version ``i`` to ``i + 1``. Append; never edit a released one.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migrate_to_1, _migrate_to_2, _migrate_to_3)
SCHEMA_VERSION = len(MIGRATIONS)

def migrate(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _current_version(conn, path)
        for number in range(version, SCHEMA_VERSION):
            MIGRATIONS[number](conn)
        if version == 0:
            conn.execute("CREATE TABLE actors_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("INSERT INTO actors_meta (key, value) VALUES ('application', 'actors')")
        conn.execute(
            "INSERT INTO actors_meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
        _check_columns(conn, path)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _current_version(conn: sqlite3.Connection, path: str) -> int:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "actors_meta" not in tables:
        clash = sorted(tables.intersection(_OWN_TABLES))
        if clash:
            raise StoreError(
                f"{path!r} is not an actors task store: it already has a table {clash[0]!r} "
                "of another application (use another file)")
        return 0
    rows = dict(conn.execute("SELECT key, value FROM actors_meta").fetchall())
    if rows.get("application") != "actors" or not str(rows.get("schema_version", "")).isdigit():
        raise StoreError(f"{path!r} is not an actors task store: its actors_meta table is foreign")
    version = int(rows["schema_version"])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the task store {path!r} has schema version {version}, newer than this version of "
            f"actors knows ({SCHEMA_VERSION}); upgrade actors to open it")
    return version


def _check_columns(conn: sqlite3.Connection, path: str) -> None:
    have = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
    missing = sorted(set(TASK_COLUMNS + PRIVATE_COLUMNS) - have)
    if missing:
        raise StoreError(f"{path!r} is not a usable actors task store: table 'tasks' lacks {missing}")

