"""The SQLite task store's plumbing: opening, schema versions, migrations, SQL text
(the row codec is ``_codec``, shared with PostgreSQL).

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

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from ..errors import StoreError, ValidationError
from ..models import PRIORITIES, Task
from ._cluster_sql import CLUSTER_DDL
from ._codec import (
    ALL_STATUSES,
    AT_ATTEMPTS,
    AT_STATUS,
    AT_UPDATED,
    FINISHED,
    RUNNING_VALUE,
    TASK_COLUMNS,
    dumps,
    load,
    task_row,
    to_task,
    update_columns,
)

__all__ = [
    "ALL_STATUSES", "AT_ATTEMPTS", "AT_STATUS", "AT_UPDATED", "CHUNK", "FINISHED", "INSERT",
    "LEAVE_RUNNING", "RUNNING_VALUE", "SCHEMA_VERSION", "SELECT", "SELECT_SEQ", "TASK_COLUMNS", "Checkpointer",
    "Guarded", "IdClash", "chunks", "claim_sql", "dumps", "fetch", "fetch_seqs", "insert", "load", "marks",
    "next_due_sql", "open_connection", "task_row", "to_task", "untag", "update_columns",
]

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
    """Nodes, leases and schedules (``_cluster_sql``)."""
    for statement in CLUSTER_DDL.split(";"):
        if statement.strip():
            conn.execute(statement)


def _migrate_to_3(conn: sqlite3.Connection) -> None:
    """``last_run_at``: when a task's last attempt ended (a new interval counts from it)."""
    conn.execute("ALTER TABLE tasks ADD COLUMN last_run_at REAL")


#: ``MIGRATIONS[i]`` upgrades version ``i`` to ``i + 1``. Append; never edit a released one.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migrate_to_1, _migrate_to_2, _migrate_to_3)
SCHEMA_VERSION = len(MIGRATIONS)


def open_connection(path: str, *, synchronous: str, busy_timeout: float,
                    trace: Callable[[str], object] | None = None) -> sqlite3.Connection:
    """Open ``path``, set the pragmas and bring the schema to ``SCHEMA_VERSION``.

    Args:
        path: a file name or ``":memory:"``.
        synchronous: ``"NORMAL"`` or ``"FULL"``.
        busy_timeout: seconds to wait for another connection's write lock.
        trace: called with each SQL statement run (values bound), pragmas included.

    Returns:
        An autocommit connection (``isolation_level=None``): the caller issues
        ``BEGIN IMMEDIATE`` / ``COMMIT`` itself.

    Raises:
        StoreError: the file cannot be opened or is not an actors task store (the
            message names the path).
    """
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the task store {path!r}: {exc}") from None
    conn.set_trace_callback(trace)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if path != ":memory:" and str(mode).lower() != "wal":
            raise StoreError(f"cannot open the task store {path!r}: WAL journal mode refused ({mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        _migrate(conn, path)
    except StoreError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot open the task store {path!r}: {exc}") from None
    return conn


def _migrate(conn: sqlite3.Connection, path: str) -> None:
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


# --- rows: codec, SQL text and shared statements ------------------------------------

CHUNK = 500  # ids per "IN (...)" list, well under SQLite's variable limit
SELECT = "SELECT " + ", ".join(TASK_COLUMNS) + " FROM tasks"
SELECT_SEQ = "SELECT seq, " + ", ".join(TASK_COLUMNS) + " FROM tasks"
INSERT = (f"INSERT INTO tasks (seq, {', '.join(TASK_COLUMNS)}) "
          f"VALUES (?, {', '.join('?' for _ in TASK_COLUMNS)})")
LEAVE_RUNNING = "owner = NULL, token = NULL, lease_expires_at = NULL, pause_requested = 0"
class IdClash(Exception):
    """An inserted id already exists (raised inside ``add``'s transaction)."""


def chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def marks(count: int) -> str:
    return ", ".join("?" * count)


@lru_cache(maxsize=64)
def claim_sql(name_count: int) -> str:
    # One arm per (tier, name): each is an index range that stops at ``run_at <= now``
    # and comes out in (run_at, seq) order; the outer ORDER BY merges at most
    # 3 * name_count * limit rows.
    # The rows come back whole (seq first), so claim needs no second SELECT.
    arm = (f"SELECT * FROM (SELECT seq, {', '.join(TASK_COLUMNS)} FROM tasks WHERE status = 'pending' "
           "AND name = ? AND priority = {rank} AND run_at <= ? ORDER BY run_at, seq LIMIT ?)")
    arms = [arm.format(rank=rank) for rank in range(len(PRIORITIES)) for _ in range(name_count)]
    return " UNION ALL ".join(arms) + " ORDER BY priority, run_at, seq LIMIT ?"


@lru_cache(maxsize=64)
def next_due_sql(name_count: int) -> str:
    arm = ("SELECT (SELECT MIN(run_at) FROM tasks WHERE status = 'pending' AND name = ? "
           "AND priority = {rank}) AS due")
    arms = [arm.format(rank=rank) for rank in range(len(PRIORITIES)) for _ in range(name_count)]
    return "SELECT MIN(due) FROM (" + " UNION ALL ".join(arms) + ")"



def fetch(conn: sqlite3.Connection, task_id: str) -> Task | None:
    """The task ``task_id``, or None."""
    row = conn.execute(SELECT + " WHERE id = ?", (task_id,)).fetchone()
    return None if row is None else to_task(row)


def fetch_seqs(conn: sqlite3.Connection, seqs: Sequence[int]) -> list[Task]:
    """The tasks with these ``seq`` values, in the order given (all must exist)."""
    by_seq: dict[int, Task] = {}
    for chunk in chunks(seqs):
        for row in conn.execute(SELECT_SEQ + f" WHERE seq IN ({marks(len(chunk))})", chunk):
            by_seq[row[0]] = to_task(row[1:])
    return [by_seq[seq] for seq in seqs]


def insert(conn: sqlite3.Connection, tasks: Sequence[Task], rows: list[tuple[Any, ...]]) -> list[str]:
    """Insert ``tasks`` (``rows`` from ``task_row``) inside the caller's write transaction.

    Returns the ids in order, an existing task's id for a used idempotency key.

    Raises:
        IdClash: an id is already in the table (the caller rolls back and says which).
        ValidationError: the table refused a value.
    """
    keys = list({task.idempotency_key for task in tasks if task.idempotency_key is not None})
    known: dict[str, str] = {}
    for chunk in chunks(keys):
        known.update(conn.execute(
            f"SELECT idempotency_key, id FROM tasks WHERE idempotency_key IN ({marks(len(chunk))})",
            chunk).fetchall())
    # We hold the write lock, so the next seq values are ours to hand out.
    seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM tasks").fetchone()[0]
    out: list[str] = []
    fresh: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[str, int]] = []
    for task, row in zip(tasks, rows, strict=True):
        key = task.idempotency_key
        if key is not None and key in known:
            out.append(known[key])
            continue
        if key is not None:
            known[key] = task.id
        seq += 1
        out.append(task.id)
        fresh.append((seq, *row))
        tag_rows.extend((tag, seq) for tag in task.tags)
    try:
        conn.executemany(INSERT, fresh)
    except sqlite3.IntegrityError as exc:
        if "tasks.id" in str(exc):
            raise IdClash from None
        column = str(exc).rpartition(".")[2]  # e.g. "NOT NULL constraint failed: tasks.name"
        raise ValidationError(column, None, f"refused by the task table: {exc}") from None
    conn.executemany("INSERT OR IGNORE INTO task_tags (tag, task_seq) VALUES (?, ?)", tag_rows)
    return out


def untag(conn: sqlite3.Connection, rows: Iterable[tuple[int, str]]) -> None:
    """Delete the task_tags rows of (seq, tags JSON) pairs, one key lookup per tag."""
    conn.executemany("DELETE FROM task_tags WHERE tag = ? AND task_seq = ?",
                     [(tag, seq) for seq, tags in rows for tag in json.loads(tags)])


#: WAL pages after which the writer checkpoints by itself (a safety net: normally the
#: ``Checkpointer`` thread keeps the WAL far smaller, off the writer's commits).
WRITER_AUTOCHECKPOINT = 10_000


class Checkpointer:
    """A thread that copies the WAL back into the database file (``wal_checkpoint(PASSIVE)``).

    SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL pages
    and fsyncs there (``synchronous=NORMAL`` syncs only at checkpoints): that commit
    takes ~10 ms instead of ~0.1 ms, on the supervisor's thread, and every message
    queued behind it waits. Here the checkpoint runs on its own connection and thread
    (the GIL is released meanwhile); a passive checkpoint never blocks the writer, and
    durability is the same (a commit is in the WAL either way). The writer keeps a
    far larger automatic checkpoint as a safety net.
    """

    def __init__(self, path: str, writer: Guarded, interval: float = 0.2) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        with writer.read() as conn:
            conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT}")
        self._thread = threading.Thread(target=self._run, name="actors-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return  # the writer's own automatic checkpoint still runs
        try:
            conn.execute("PRAGMA busy_timeout = 1000")
            version = None
            while not self._stop.wait(self._interval):
                now = conn.execute("PRAGMA data_version").fetchone()[0]
                if now != version:  # another connection committed since the last look
                    version = now
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass  # the file went away or is closed: the writer's checkpoint remains
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


class Guarded:
    """One connection behind a lock; every ``sqlite3`` error leaves as ``StoreError`` naming the path."""

    def __init__(self, conn: sqlite3.Connection, path: str,
                 ended: Callable[[bool], None] | None = None, busy_timeout: float = 5.0) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self._ended = ended  # ended(committed), lock held, after each transaction commits or rolls back
        self._busy_timeout = busy_timeout
        self._busy_pragma = f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}"

    def error(self, exc: BaseException) -> StoreError:
        return StoreError(f"task store {self.path!r}: {exc}")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"task store {self.path!r} is closed")
        return self._conn

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: commit on success, roll back on any error."""
        with self._lock:
            conn = self._connection()
            try:
                self._begin(conn)
            except sqlite3.Error as exc:
                raise self.error(exc) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if self._ended is not None:
                    self._ended(False)
                if isinstance(exc, sqlite3.Error):
                    raise self.error(exc) from exc
                raise
            if self._ended is not None:
                self._ended(True)

    def _begin(self, conn: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``, waiting for another process's write lock in short steps.

        SQLite's own busy handler sleeps 1 ms, then 2, 5, 10 ... ms between tries, while a
        write transaction here holds the lock for ~0.1 ms: two processes writing one file
        often (a producer and a serving node) lost most of their time sleeping. So the
        handler is off while beginning, and this retries after 50 µs, doubling to 2 ms,
        until ``busy_timeout`` has passed (then SQLite's "database is locked" error).
        Statements inside the transaction keep the handler (they hold the lock already).
        """
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            deadline = time.monotonic() + self._busy_timeout
            pause = 0.00005
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, 0.002)
        finally:
            conn.execute(self._busy_pragma)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (autocommit: each statement sees one snapshot)."""
        with self._lock:
            conn = self._connection()
            try:
                yield conn
            except sqlite3.Error as exc:
                raise self.error(exc) from exc

    def close(self) -> None:
        """Close the connection. Idempotent; later calls raise ``StoreError``."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error as exc:
                raise self.error(exc) from exc
