"""``SQLiteStore``: the task table in one SQLite file (the default store).

Several processes may open the same file (a CLI creating tasks while a worker
process runs): the file is in WAL mode, writers wait up to ``busy_timeout`` for
each other, and every write — claims included — runs in one ``BEGIN IMMEDIATE``
transaction, so two processes never claim the same row. Batches (``add``,
``claim``, ``finish``, ``release``) are one transaction each.

Rows hold JSON and numbers only (times as REAL epoch seconds, priority as its
rank); nothing is pickled. Schema and migrations live in ``schema``.
Every ``sqlite3`` error surfaces as ``StoreError`` naming the path.

Semantics shared with ``MemoryStore`` (the contract suite checks both):

* ``add`` refuses (``ValidationError``, nothing stored) a RUNNING task, an
  unfinished task without ``run_at``, an unknown priority, a value that is not
  JSON, and an id that is already used (in the table or twice in the batch).
* A pause requested while a task runs is honoured when the row next leaves
  RUNNING for PENDING (``finish``, ``release``, ``reclaim_expired``): it goes to
  PAUSED instead. ``resume`` withdraws a requested pause.
* ``pause`` / ``resume`` of a task in any other state (finished included) leave
  it unchanged and return it; ``cancel`` of a finished task returns it unchanged.
* ``merge_metadata`` is a shallow merge (top-level keys replace).
* Leaving RUNNING clears owner, token and lease; ``finished_at`` is set for
  SUCCEEDED / FAILED / CANCELLED and cleared otherwise.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ...errors import TaskNotFound, ValidationError
from ...models import Claim, Task, TaskStatus
from ...spec import check_search, distinct_ids
from .._rules import RETRYABLE, moved_run_at, not_paused, not_retryable
from ..base import ClaimRequest, TaskQuery
from ..sql.cluster import SQLCluster
from . import statements as sq
from .attempts import SQLiteAttempts
from .connection import Checkpointer, Guarded, PerThread, open_connection
from .iterations import SQLiteIterations
from .maintenance import SQLiteMaintenance
from .queues import SQLiteQueues
from .search import behind, catch_up, search_tasks
from .wake import WakeBus

__all__ = ["SQLiteStore"]

class SQLiteStore(SQLiteAttempts, SQLiteIterations, SQLiteMaintenance, SQLiteQueues, SQLCluster):
    """The ``TaskStore`` over an SQLite file.

    Args:
        path: the database file (created if missing; its directory must exist),
            or ``":memory:"`` for a private in-memory database.
        synchronous: ``"NORMAL"`` (default; WAL makes this durable against
            process crashes, a power cut may lose the last commits) or ``"FULL"``.
        busy_timeout: seconds a write waits for another connection's lock
            before ``StoreError``.
        trace: called with every SQL statement this store runs, values bound in
            (debugging, query-plan tests); None by default.

    Raises:
        StoreError: the file is not an actors task store, is corrupt, is a
            directory, or has a newer schema version (the message names the path).
        ValidationError: ``synchronous`` is not "NORMAL" or "FULL" (field ``synchronous``).

    Example:
        >>> store = SQLiteStore(":memory:")
        >>> store.counts()["pending"]
        0
        >>> store.close()
    """

    def __init__(self, path: str, *, synchronous: str = "NORMAL", busy_timeout: float = 5.0,
                 trace: Callable[[str], object] | None = None) -> None:
        if str(synchronous).upper() not in ("NORMAL", "FULL"):
            raise ValidationError("synchronous", synchronous, "must be 'NORMAL' or 'FULL'")
        self.path = str(path)
        self._wake = WakeBus(self.path)
        self._wake_due: float | None = math.inf  # what the open transaction announced (inf: nothing)
        sync = str(synchronous).upper()
        self._db = Guarded(open_connection(self.path, synchronous=sync, busy_timeout=busy_timeout, trace=trace),
                           self.path, ended=self._tx_ended, busy_timeout=busy_timeout)
        # creates insert on their caller's own connection (a private ":memory:" has only the one)
        self._creators = None if self.path == ":memory:" else PerThread(
            self.path, lambda: open_connection(self.path, synchronous=sync, busy_timeout=busy_timeout,
                                               trace=trace, schema=False), busy_timeout)
        self._checkpointer = None if self.path == ":memory:" else Checkpointer(self.path, self._db)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def _cluster_tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.tx()

    def _insert_fired(self, conn: sqlite3.Connection, tasks: Sequence[Task]) -> None:
        sq.insert(conn, tasks, [sq.task_row(task) for task in tasks])
        self._announce(conn, _earliest(tasks))

    # --- wake-ups for other processes on this file (``wake``) -------------------------

    def _announce(self, conn: sqlite3.Connection, due: float | None) -> None:
        """Inside a transaction: once it commits, wake the listening nodes for work due at
        ``due`` (None: now); if it rolls back, nothing is sent."""
        current = self._wake_due
        self._wake_due = None if due is None or current is None else min(current, due)

    def _tx_ended(self, committed: bool) -> None:
        due, self._wake_due = self._wake_due, math.inf
        if committed and due != math.inf:
            self._wake.send(due)

    def subscribe(self, on_wake: Callable[[float | None], None]) -> None:
        """Call ``on_wake(due)`` (from a thread) when another process commits work due at
        ``due`` on this file (None: now), so a serving node claims without waiting for its
        next poll. Best effort: the poll of ``data_version`` remains the safety net."""
        self._wake.listen(on_wake)

    def listener_health(self) -> dict[str, Any] | None:
        """The wake-up socket's state (as ``PostgresStore``'s listener), or None if not listening."""
        if not self._wake.listening:
            return None
        return {"connected": True, "notifications": self._wake.heard, "socket": self._wake.own}

    # --- creating and reading ---------------------------------------------------------

    def add(self, tasks: Sequence[Task]) -> list[str]:
        """Insert tasks in one transaction; returns their ids in order.

        Runs on the calling thread's own connection (``PerThread``; a ``":memory:"`` store:
        the one connection), so creates from several threads wait for no lock but
        SQLite's. A task whose ``idempotency_key`` is already used (in the table or
        earlier in the batch) is not inserted and the existing id is returned in its place.

        Raises:
            ValidationError: a task is RUNNING, lacks ``run_at``, holds non-JSON
                values or reuses an id; nothing is stored.
            StoreError: the file refused the write (locked past ``busy_timeout``, full,
                read-only) or the store is closed; nothing is stored.
        """
        if not tasks:
            return []
        if self._creators is None:
            return self._add(tasks, None, 0.0)[0]
        rows = [sq.task_row(task) for task in tasks]
        ids = distinct_ids(tasks)
        db = self._creators.get()
        try:
            with db.tx() as conn:
                added = sq.insert(conn, tasks, rows)
        except sq.IdClash:
            raise self._clash(ids) from None
        due = _earliest(tasks)
        if due != math.inf:
            self._wake.send(due)  # committed: wake the other nodes on this file
        return added

    def add_and_claim(self, tasks: Sequence[Task], now: float,
                      claim: ClaimRequest) -> tuple[list[str], list[Claim]]:
        """``add`` then ``claim`` in one transaction (see ``TaskStore.add_and_claim``)."""
        return self._add(tasks, claim, now)

    def _add(self, tasks: Sequence[Task], claim: ClaimRequest | None,
             now: float) -> tuple[list[str], list[Claim]]:
        rows = [sq.task_row(task) for task in tasks]
        ids = distinct_ids(tasks)
        try:
            with self._db.tx() as conn:
                added = sq.insert(conn, tasks, rows) if tasks else []
                claims = self._claim_in(conn, claim, now) if claim is not None else []
                claimed = {c.task.id for c in claims}
                if any(task_id not in claimed for task_id in added):  # some wait: wake other nodes
                    self._announce(conn, _earliest(tasks))
                return added, claims
        except sq.IdClash:
            raise self._clash(ids) from None

    def _clash(self, ids: list[str]) -> ValidationError:
        """The refusal of an insert that reused an id (which one, if it is in the table)."""
        with self._db.read() as conn:
            used = [row[0] for chunk in sq.chunks(ids) for row in conn.execute(
                f"SELECT id FROM tasks WHERE id IN ({sq.marks(len(chunk))})", chunk)]
        return ValidationError("id", used[0] if used else ids, "a task with this id already exists")

    def get(self, task_id: str) -> Task | None:
        """The task, or None."""
        with self._db.read() as conn:
            return sq.fetch(conn, task_id)

    def get_many(self, task_ids: Collection[str]) -> dict[str, Task]:
        """The tasks that exist among ``task_ids``, by id."""
        ids = list(dict.fromkeys(task_ids))
        out: dict[str, Task] = {}
        with self._db.read() as conn:
            for chunk in sq.chunks(ids):
                for row in conn.execute(sq.SELECT + f" WHERE id IN ({sq.marks(len(chunk))})", chunk):
                    out[row[0]] = sq.to_task(row)
        return out

    def query(self, query: TaskQuery) -> list[Task]:
        """Tasks matching every set field of ``query``, in creation order, at most ``limit``."""
        if query.limit is not None and query.limit <= 0:
            return []
        where: list[str] = []
        params: list[Any] = []
        for column in ("name", "room_id", "world_id", "entity_id", "queue", "parent_id"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        statuses = list(dict.fromkeys(TaskStatus(s).value for s in query.status))
        if not statuses and query.name is not None:
            statuses = list(sq.ALL_STATUSES)  # same rows; lets the planner use tasks_claim
        if statuses:
            where.append(f"status IN ({sq.marks(len(statuses))})")
            params.extend(statuses)
        source, order = sq.SELECT, "seq"
        if query.tags:
            # Walk the first tag's entries in creation order and check the others by
            # key, so "ORDER BY ... LIMIT" stops early instead of sorting every match.
            first, *others = dict.fromkeys(query.tags)
            source = sq.SELECT + " JOIN task_tags ON task_tags.task_seq = tasks.seq"
            order = "task_tags.task_seq"
            where.insert(0, "task_tags.tag = ?")
            params.insert(0, first)
            for tag in others:
                where.append("EXISTS (SELECT 1 FROM task_tags AS other WHERE other.tag = ? "
                             "AND other.task_seq = tasks.seq)")
                params.append(tag)
        if query.newest_first:
            order = "finished_at DESC NULLS LAST, tasks.seq DESC"
        elif query.run_order:
            order = "tasks.priority, tasks.run_at NULLS LAST, tasks.seq"
        sql = source + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order}"
        if query.limit is not None or query.offset:
            sql += " LIMIT ? OFFSET ?"
            params.extend((-1 if query.limit is None else query.limit, query.offset))
        with self._db.read() as conn:
            return [sq.to_task(row) for row in conn.execute(sql, params)]

    def search(self, text: str, *, limit: int | None = None) -> list[Task]:
        """Full-text search over names, descriptions and tags (see ``TaskStore.search``).

        The index is brought up to date first (``search.catch_up``: tasks created since the
        last search are indexed now, not when they were created)."""
        wanted, limit = check_search(text, limit)
        if not wanted or limit == 0:
            return []
        with self._db.read() as conn:
            stale = behind(conn)
        while stale:  # index what was created since the last search, a chunk per transaction
            with self._db.tx() as conn:
                stale = catch_up(conn)
        with self._db.read() as conn:
            return search_tasks(conn, wanted, limit)

    # --- changing -------------------------------------------------------------------

    def update(self, task_id: str, changes: Mapping[str, Any], now: float) -> Task:
        """Set fields named in ``UPDATABLE_FIELDS`` (metadata and tags are replaced whole).

        ``run_at`` is epoch seconds. ``updated_at`` becomes ``now``.

        Raises:
            ValidationError: a field is not updatable or its value is refused.
            TaskNotFound: no such task.
        """
        columns = sq.update_columns(changes)
        sets = "".join(f"{column} = ?, " for column in columns)
        with self._db.tx() as conn:
            old = conn.execute("SELECT seq, tags, status, update_interval, last_run_at, created_at, attempts "
                               "FROM tasks WHERE id = ?", (task_id,)).fetchone()
            if old is None:
                raise TaskNotFound(task_id)
            run_at = moved_run_at(columns, status=old[2], interval=old[3], last_run_at=old[4],
                                  created_at=old[5], attempts=old[6], now=now)
            moved = "" if run_at is None else "run_at = ?, "
            conn.execute(f"UPDATE tasks SET {sets}{moved}updated_at = ? WHERE id = ?",
                         (*columns.values(), *([] if run_at is None else [run_at]), now, task_id))
            self._announce(conn, columns.get("run_at", run_at))
            if "tags" in columns:
                sq.untag(conn, [old[:2]])
                conn.executemany("INSERT INTO task_tags (tag, task_seq) VALUES (?, ?)",
                                 [(tag, old[0]) for tag in json.loads(columns["tags"])])
            task = sq.fetch(conn, task_id)
        assert task is not None
        return task

    def delete(self, task_id: str) -> bool:
        """Remove the task, its tags and its logs; False if there was none."""
        with self._db.tx() as conn:
            row = conn.execute("SELECT seq, tags FROM tasks WHERE id = ?", (task_id,)).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM tasks WHERE seq = ?", (row[0],))
            sq.untag(conn, [row])
            conn.execute("DELETE FROM task_logs WHERE task_id = ?", (task_id,))
            return True

    # --- user transitions ----------------------------------------------------------------

    def _status(self, conn: sqlite3.Connection, task_id: str) -> str:
        row = conn.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise TaskNotFound(task_id)
        return str(row[0])

    def pause(self, task_id: str, now: float) -> Task:
        """PENDING → PAUSED; RUNNING: pause requested (applied when the attempt ends).

        Any other state is left unchanged. Returns the task after the change.

        Raises:
            TaskNotFound: no such task.
        """
        with self._db.tx() as conn:
            status = self._status(conn, task_id)
            if status == "pending":
                conn.execute("UPDATE tasks SET status = 'paused', updated_at = ? WHERE id = ?",
                             (now, task_id))
            elif status == "running":
                conn.execute("UPDATE tasks SET pause_requested = 1, updated_at = ? WHERE id = ?",
                             (now, task_id))
            task = sq.fetch(conn, task_id)
        assert task is not None
        return task

    def resume(self, task_id: str, now: float) -> Task:
        """PAUSED → PENDING with ``failure_count = 0``; RUNNING: a requested pause is withdrawn.

        ``run_at`` is kept. Returns the task after.

        Raises:
            TaskNotFound: no such task. ValidationError: neither of those (``status``);
                nothing changes.
        """
        with self._db.tx() as conn:
            status = self._status(conn, task_id)
            if status == "paused":
                conn.execute("UPDATE tasks SET status = 'pending', failure_count = 0, updated_at = ? "
                             "WHERE id = ?", (now, task_id))
                self._announce(conn, None)
            elif status != "running" or not conn.execute(
                    "UPDATE tasks SET pause_requested = 0, updated_at = ? "
                    "WHERE id = ? AND pause_requested = 1", (now, task_id)).rowcount:
                raise not_paused(status)
            task = sq.fetch(conn, task_id)
        assert task is not None
        return task

    def retry(self, task_id: str, now: float) -> Task:
        """FAILED / CANCELLED → PENDING due at ``now``, counts reset (``TaskStore.retry``).

        Raises:
            TaskNotFound: no such task. ValidationError: any other state (``status``).
        """
        with self._db.tx() as conn:
            status = self._status(conn, task_id)
            if status not in RETRYABLE:
                raise not_retryable(status)
            conn.execute("UPDATE tasks SET status = 'pending', run_at = ?, attempts = 0, failure_count = 0, "
                         "crash_count = 0, finished_at = NULL, updated_at = ? WHERE id = ?", (now, now, task_id))
            self._announce(conn, None)
            task = sq.fetch(conn, task_id)
        assert task is not None
        return task

    def cancel(self, task_id: str, now: float) -> Task | None:
        """PENDING / PAUSED / RUNNING → CANCELLED, lease dropped; returns the task as it was.

        A finished task is returned unchanged; an unknown id returns None.
        """
        with self._db.tx() as conn:
            before = sq.fetch(conn, task_id)
            if before is not None and not before.status.finished:
                conn.execute(f"UPDATE tasks SET status = 'cancelled', finished_at = ?, updated_at = ?, "
                             f"{sq.LEAVE_RUNNING} WHERE id = ?", (now, now, task_id))
            return before

    def close(self) -> None:
        """Close the connection. Idempotent; later calls raise ``StoreError``."""
        self._wake.close()
        if self._creators is not None:
            self._creators.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._db.close()


def _earliest(tasks: Sequence[Task]) -> float:
    """The earliest ``run_at`` among unfinished ``tasks`` (inf: none will ever be due)."""
    due = [task.run_at.timestamp() for task in tasks if task.run_at is not None and not task.status.finished]
    return min(due) if due else math.inf
