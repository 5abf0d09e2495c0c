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
from typing import TYPE_CHECKING

from ...errors import StoreError
from ..sql.cluster import CLUSTER_DDL
from ..sql.codec import (
    TASK_COLUMNS,
)

__all__ = ["FTS_COLUMNS", "FTS_INDEXED", "FTS_WATERMARK", "MIGRATIONS", "PRIVATE_COLUMNS", "SCHEMA_VERSION",
           "database", "migrate"]

if TYPE_CHECKING:
    from sqlite_utils import Database

#: Columns that only the store sees (lease and bookkeeping).
PRIVATE_COLUMNS: tuple[str, ...] = ("seq", "owner", "token", "lease_expires_at", "pause_requested",
                                    "last_run_at")

_OWN_TABLES = ("tasks", "task_tags", "task_logs", "nodes", "leases", "schedules", "schedule_firings", "tasks_fts",
               "queues", "queue_starts")

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


# Migrations get a ``sqlite_utils.Database`` over the store's connection, inside the one
# ``BEGIN IMMEDIATE`` transaction of ``migrate`` (sqlite-utils runs scripts statement by
# statement when a transaction is open, so nothing commits half a migration). Tables and
# columns are sqlite-utils' work where it can express them (``create``, ``add_column``,
# ``enable_fts``; ``table.transform`` for a future change ALTER TABLE cannot make); the
# version-1 DDL stays SQL text: its partial indexes and the WITHOUT ROWID tag table are
# beyond sqlite-utils, and a released migration is never edited.

def _migrate_to_1(db: Database) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            db.execute(statement)
    db.table("actors_meta").create({"key": str, "value": str}, pk="key", not_null={"value"})
    db.execute("INSERT INTO actors_meta (key, value) VALUES ('application', 'actors')")


def _migrate_to_2(db: Database) -> None:
    """Nodes, leases and schedules (``sql.cluster``)."""
    for statement in CLUSTER_DDL.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate_to_3(db: Database) -> None:
    """``last_run_at``: when a task's last attempt ended (a new interval counts from it)."""
    db.table("tasks").add_column("last_run_at", float)


def _migrate_to_4(db: Database) -> None:
    """Full-text search over names, descriptions and tags (``search``): an FTS5 index over
    ``tasks`` (external content, rowid = seq), filled from the rows already there, and its
    watermark ``FTS_INDEXED`` in ``actors_meta`` (the highest seq it holds)."""
    db.table("tasks").enable_fts(list(FTS_COLUMNS), fts_version="FTS5", tokenize="unicode61")
    db.execute(f"INSERT INTO actors_meta (key, value) SELECT '{FTS_INDEXED}', COALESCE(MAX(seq), 0) FROM tasks")
    db.executescript(FTS_TRIGGERS)  # statement by statement inside the open transaction


def _migrate_to_5(db: Database) -> None:
    """Uniqueness with a TTL and task trees: ``idempotency_expires_at`` (when a task's key is free
    again; NULL: never) and ``parent_id`` (the task that created it), indexed for
    ``get_tasks(parent_id=...)``. (Issue 13; a separate step so a merge can renumber it.)"""
    db.table("tasks").add_column("idempotency_expires_at", float)
    db.table("tasks").add_column("parent_id", str)
    db.execute("CREATE INDEX tasks_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL")


def _migrate_to_6(db: Database) -> None:
    """Queues: ``concurrency_key`` on tasks, the queue settings (``queues``: a row per declared
    queue, rate limit as count per period seconds) and the attempt starts of rate-limited
    queues (``queue_starts``, pruned past their period by the claims)."""
    db.table("tasks").add_column("concurrency_key", str)
    db.execute(QUEUES_DDL)
    db.execute("CREATE TABLE queue_starts (queue TEXT NOT NULL, started REAL NOT NULL)")
    db.execute("CREATE INDEX queue_starts_queue ON queue_starts (queue, started)")


def _migrate_to_7(db: Database) -> None:
    """Iterations and durable steps (issue 14): a task's ``iteration`` (1 for its first run; each
    ``actors.Continue`` adds one), its own ``max_iterations`` (NULL: its worker's), its ``steps``
    (``ctx.step`` results of this iteration, a JSON object) and the iteration of each log line."""
    db.execute("ALTER TABLE tasks ADD COLUMN iteration INTEGER NOT NULL DEFAULT 1")
    db.table("tasks").add_column("max_iterations", int)
    db.execute("ALTER TABLE tasks ADD COLUMN steps TEXT NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE task_logs ADD COLUMN iteration INTEGER NOT NULL DEFAULT 1")


def _migrate_to_8(db: Database) -> None:
    """Trace context (issue 15, OpenTelemetry): ``trace``, the creator's W3C trace-context carrier
    (``traceparent`` / ``tracestate``) as a JSON object, NULL when the create had no span."""
    db.table("tasks").add_column("trace", str)


#: The queue settings table (both SQL stores).
QUEUES_DDL = ("CREATE TABLE queues (name TEXT PRIMARY KEY, concurrency INTEGER, key_concurrency INTEGER, "
              "rate_count INTEGER, rate_period REAL, paused INTEGER NOT NULL DEFAULT 0)")

#: The columns the full-text index covers (``tasks_fts``).
FTS_COLUMNS = ("name", "description", "tags")
#: The ``actors_meta`` key of the index's watermark: every row with ``seq <=`` it is in
#: ``tasks_fts`` with its current text, no row above it is (``search.catch_up`` moves it).
FTS_INDEXED = "fts_indexed_seq"
#: The watermark as an SQL expression (for triggers and the seq of new rows).
FTS_WATERMARK = f"(SELECT CAST(value AS INTEGER) FROM actors_meta WHERE key = '{FTS_INDEXED}')"
_OLD = ", ".join(f"old.{column}" for column in FTS_COLUMNS)
_NEW = ", ".join(f"new.{column}" for column in FTS_COLUMNS)
_COLUMNS = ", ".join(FTS_COLUMNS)
# The index is filled lazily: no INSERT trigger (it halved task creation), a search first
# indexes the rows above the watermark (``search.catch_up``). Deletes and changes of an
# indexed column reach the index only for rows already in it (an FTS5 'delete' of a row it
# does not hold corrupts an external-content index); a row above the watermark is indexed
# with its text as it is when the next search comes. New rows never get a seq at or below
# the watermark (``statements.insert``), even after the newest rows were deleted.
# sqlite-utils' own triggers (``create_triggers=True``) would fire on every insert and on
# every UPDATE of a row (each claim and attempt end).
FTS_TRIGGERS = f"""
CREATE TRIGGER tasks_ad AFTER DELETE ON tasks WHEN old.seq <= {FTS_WATERMARK} BEGIN
  INSERT INTO tasks_fts (tasks_fts, rowid, {_COLUMNS}) VALUES ('delete', old.seq, {_OLD});
END;
CREATE TRIGGER tasks_au AFTER UPDATE OF {_COLUMNS} ON tasks WHEN old.seq <= {FTS_WATERMARK} BEGIN
  INSERT INTO tasks_fts (tasks_fts, rowid, {_COLUMNS}) VALUES ('delete', old.seq, {_OLD});
  INSERT INTO tasks_fts (rowid, {_COLUMNS}) VALUES (new.seq, {_NEW});
END;
"""

#: ``MIGRATIONS[i]`` upgrades version ``i`` to ``i + 1``. Append; never edit a released one.
MIGRATIONS: tuple[Callable[[Database], None], ...] = (_migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4,
                                                      _migrate_to_5, _migrate_to_6, _migrate_to_7,
                                                      _migrate_to_8)
SCHEMA_VERSION = len(MIGRATIONS)


def database(conn: sqlite3.Connection) -> Database:
    """A ``sqlite_utils.Database`` over the store's own connection (imported here, lazily:
    the hot path and the pool children never load sqlite-utils). Plugins and recursive
    triggers stay off, so the connection behaves as before."""
    import sqlite_utils

    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the file to ``SCHEMA_VERSION`` in one ``BEGIN IMMEDIATE`` transaction (all or
    nothing); a file already there is only checked, without loading sqlite-utils."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _current_version(conn, path)
        if version < SCHEMA_VERSION:
            db = database(conn)
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](db)
            conn.execute(
                "INSERT INTO actors_meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
        _check_columns(conn, path)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
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

