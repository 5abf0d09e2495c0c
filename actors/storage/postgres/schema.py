"""The PostgreSQL task store's plumbing: schema, migrations, connection errors.

Private to ``actors.storage.postgres``. The tables live in their own schema
(``actors`` by default, created if missing) so the store can share an
application's database. The schema version is in ``<schema>.actors_meta``;
``MIGRATIONS[i]`` brings version ``i`` to ``i + 1``. Migrations run in one
transaction under a transaction-scoped advisory lock keyed by the schema name,
so several nodes starting at once never race to create the tables.

Rows hold JSON text and numbers only, in the same codec as the SQLite store
(``sql.codec.task_row`` / ``to_task``): times are double precision epoch
seconds, priority its rank. Tags are also kept as a ``text[]`` (``tag_list``)
under a GIN index for "carries all these tags" queries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from ...errors import StoreError, ValidationError
from ..sql.cluster import CLUSTER_DDL
from ..sql.codec import TASK_COLUMNS

__all__ = ["FREE_EXPIRED_KEYS", "INSERT", "LEAVE_RUNNING", "SCHEMA_VERSION", "SELECT", "SELECT_SEQ", "TASK_COLUMNS",
           "check_schema_name", "describe", "migrate"]

# Index notes:
# * tasks_claim (priority, run_at, seq) over PENDING rows: claim walks it in claim
#   order and stops after ``limit`` due rows of the wanted names; tasks_pending_name
#   (name, run_at) serves next_due and pending_names and lets the planner pick a
#   name-first path when one name is rare.
# * tasks_lease (lease_expires_at, seq) over RUNNING rows: reclaim, next_lease_expiry.
# * tasks_status (status, seq): status queries in creation order, counts.
# * tag_list GIN: all-tags queries; partial indexes for the optional ids.
_V1 = """
CREATE TABLE tasks (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    priority SMALLINT NOT NULL,
    queue TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    tag_list TEXT[] NOT NULL DEFAULT '{}',
    metadata TEXT NOT NULL DEFAULT '{}',
    room_id TEXT,
    world_id TEXT,
    entity_id TEXT,
    run_at DOUBLE PRECISION,
    update_interval DOUBLE PRECISION,
    attempts INTEGER NOT NULL DEFAULT 0,
    failure_count INTEGER NOT NULL DEFAULT 0,
    crash_count INTEGER NOT NULL DEFAULT 0,
    progress DOUBLE PRECISION,
    result TEXT NOT NULL DEFAULT 'null',
    error TEXT,
    created_at DOUBLE PRECISION,
    updated_at DOUBLE PRECISION,
    finished_at DOUBLE PRECISION,
    max_attempts INTEGER,
    max_failures INTEGER NOT NULL DEFAULT 5,
    timeout DOUBLE PRECISION,
    retry TEXT,
    idempotency_key TEXT,
    owner TEXT,
    token TEXT,
    lease_expires_at DOUBLE PRECISION,
    pause_requested BOOLEAN NOT NULL DEFAULT FALSE,
    CONSTRAINT tasks_id_key UNIQUE (id)
);
CREATE INDEX tasks_claim ON tasks (priority, run_at, seq) WHERE status = 'pending';
CREATE INDEX tasks_pending_name ON tasks (name, run_at) WHERE status = 'pending';
CREATE INDEX tasks_lease ON tasks (lease_expires_at, seq) WHERE status = 'running';
CREATE INDEX tasks_owner ON tasks (owner) WHERE owner IS NOT NULL;
CREATE INDEX tasks_status ON tasks (status, seq);
CREATE INDEX tasks_name ON tasks (name, seq);
CREATE UNIQUE INDEX tasks_idempotency ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_room ON tasks (room_id, seq) WHERE room_id IS NOT NULL;
CREATE INDEX tasks_world ON tasks (world_id, seq) WHERE world_id IS NOT NULL;
CREATE INDEX tasks_entity ON tasks (entity_id, seq) WHERE entity_id IS NOT NULL;
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_tags ON tasks USING GIN (tag_list);
CREATE TABLE task_logs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX task_logs_task ON task_logs (task_id, created, seq);
"""

#: ``MIGRATIONS[i]`` upgrades version ``i`` to ``i + 1``. Append; never edit a released one.
MIGRATIONS: tuple[str, ...] = (
    _V1,
    CLUSTER_DDL,
    # when a task's last attempt ended (a new interval counts from it)
    "ALTER TABLE tasks ADD COLUMN last_run_at DOUBLE PRECISION",
    # uniqueness with a TTL (when a key is free again) and task trees (issue 13; its own step)
    "ALTER TABLE tasks ADD COLUMN idempotency_expires_at DOUBLE PRECISION; "
    "ALTER TABLE tasks ADD COLUMN parent_id TEXT; "
    "CREATE INDEX tasks_parent ON tasks (parent_id, seq) WHERE parent_id IS NOT NULL",
    # queues: a task's concurrency key, the queue settings (claims lock a limited queue's row
    # FOR UPDATE) and the attempt starts of rate-limited queues (pruned by the claims)
    "ALTER TABLE tasks ADD COLUMN concurrency_key TEXT; "
    "CREATE TABLE queues (name TEXT PRIMARY KEY, concurrency INTEGER, key_concurrency INTEGER, "
    "rate_count INTEGER, rate_period DOUBLE PRECISION, paused BOOLEAN NOT NULL DEFAULT FALSE); "
    "CREATE TABLE queue_starts (queue TEXT NOT NULL, started DOUBLE PRECISION NOT NULL); "
    "CREATE INDEX queue_starts_queue ON queue_starts (queue, started)",
    # iterations and durable steps (issue 14): a task's iteration, its own max_iterations (NULL:
    # its worker's), the ctx.step results of this iteration (a JSON object) and each log line's iteration
    "ALTER TABLE tasks ADD COLUMN iteration INTEGER NOT NULL DEFAULT 1; "
    "ALTER TABLE tasks ADD COLUMN max_iterations INTEGER; "
    "ALTER TABLE tasks ADD COLUMN steps TEXT NOT NULL DEFAULT '{}'; "
    "ALTER TABLE task_logs ADD COLUMN iteration INTEGER NOT NULL DEFAULT 1",
    # trace context (issue 15, OpenTelemetry): the creator's W3C carrier as a JSON object (NULL: no span)
    "ALTER TABLE tasks ADD COLUMN trace TEXT",
)
SCHEMA_VERSION = len(MIGRATIONS)

SELECT = "SELECT " + ", ".join(TASK_COLUMNS) + " FROM tasks"
SELECT_SEQ = "SELECT seq, " + ", ".join(TASK_COLUMNS) + " FROM tasks"
INSERT = (f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}, tag_list) "
          f"VALUES ({', '.join('%s' for _ in TASK_COLUMNS)}, %s) "
          "ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING")
LEAVE_RUNNING = "owner = NULL, token = NULL, lease_expires_at = NULL, pause_requested = FALSE"
#: ``(keys, nows)``: rows whose key expired at its "now" give it up (the key is free again).
FREE_EXPIRED_KEYS = ("UPDATE tasks SET idempotency_key = NULL, idempotency_expires_at = NULL "
                     "FROM unnest(%s::text[], %s::float8[]) AS k(key, now) "
                     "WHERE tasks.idempotency_key = k.key AND tasks.idempotency_expires_at <= k.now")


_OWN_TABLES = frozenset({"tasks", "task_logs", "nodes", "leases", "schedules", "schedule_firings", "queues",
                         "queue_starts"})
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(schema: str) -> str:
    """``schema`` if it is a plain lower-case identifier, else ``ValidationError`` (field ``schema``)."""
    if not isinstance(schema, str) or not _NAME.match(schema):
        raise ValidationError("schema", schema, "must be a lower-case identifier (letters, digits, _)")
    return schema


def describe(dsn: str) -> str:
    """``host:port/dbname`` of ``dsn`` for error messages (never the password)."""
    try:
        info: Mapping[str, Any] = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "<unparsable DSN>"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    port = info.get("port") or "5432"
    return f"{host}:{port}/{info.get('dbname') or info.get('user') or ''}"


def migrate(conn: psycopg.Connection[Any], schema: str, where: str) -> None:
    """Create ``schema`` and bring its tables to ``SCHEMA_VERSION`` (one transaction, locked).

    Raises:
        StoreError: the schema holds foreign tables or a newer schema version.
    """
    ident = sql.Identifier(schema)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"actors.schema:{schema}",))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(ident))
        tables = {row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))}
        if "actors_meta" not in tables:
            clash = sorted(tables.intersection(_OWN_TABLES))
            if clash:
                raise StoreError(f"PostgreSQL {where} schema {schema!r} is not an actors task store: "
                                 f"it already has a table {clash[0]!r} (use another schema)")
            conn.execute("CREATE TABLE actors_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("INSERT INTO actors_meta VALUES ('application', 'actors')")
            version = 0
        else:
            rows = dict(conn.execute("SELECT key, value FROM actors_meta").fetchall())
            if rows.get("application") != "actors" or not str(rows.get("schema_version", "")).isdigit():
                raise StoreError(f"PostgreSQL {where} schema {schema!r}: its actors_meta table is foreign")
            version = int(rows["schema_version"])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"PostgreSQL {where} schema {schema!r} has version {version}, newer than this "
                    f"version of actors knows ({SCHEMA_VERSION}); upgrade actors to open it")
        for number in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    conn.execute(statement.encode())
        conn.execute(
            "INSERT INTO actors_meta (key, value) VALUES ('schema_version', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
