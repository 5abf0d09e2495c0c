"""``SQLiteStore``: the task table in one SQLite file (the default store).

Several processes may open the same file (a CLI creating tasks while a worker
process runs): the file is in WAL mode, writers wait up to ``busy_timeout`` for
each other, and every write — claims included — runs in one ``BEGIN IMMEDIATE``
transaction, so two processes never claim the same row. Batches (``add``,
``claim``, ``finish``, ``release``) are one transaction each.

Rows hold JSON and numbers only (times as REAL epoch seconds, priority as its
rank); nothing is pickled. Schema and migrations live in ``_sqlite_schema``.
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
import os
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..errors import TaskNotFound, ValidationError
from ..models import PRIORITIES, Claim, Task, TaskStatus
from . import _sqlite_schema as sq
from ._cluster_sql import SQLCluster
from ._rules import moved_run_at, not_paused
from ._sqlite_wake import WakeBus
from .base import DEFAULT_QUEUE, ClaimRequest, Finish, LogRecord, TaskQuery, distinct_ids

__all__ = ["SQLiteStore"]

class SQLiteStore(SQLCluster):
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
        self._db = sq.Guarded(sq.open_connection(self.path, synchronous=str(synchronous).upper(),
                                                 busy_timeout=busy_timeout, trace=trace), self.path,
                              ended=self._tx_ended, busy_timeout=busy_timeout)
        self._checkpointer = None if self.path == ":memory:" else sq.Checkpointer(self.path, self._db)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def _cluster_tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.tx()

    def _insert_fired(self, conn: sqlite3.Connection, tasks: Sequence[Task]) -> None:
        sq.insert(conn, tasks, [sq.task_row(task) for task in tasks])
        self._announce(conn, _earliest(tasks))

    # --- wake-ups for other processes on this file (``_sqlite_wake``) ---------------------

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

        A task whose ``idempotency_key`` is already used (in the table or earlier in
        the batch) is not inserted and the existing id is returned in its place.

        Raises:
            ValidationError: a task is RUNNING, lacks ``run_at``, holds non-JSON
                values or reuses an id; nothing is stored.
        """
        if not tasks:
            return []
        return self._add(tasks, None, 0.0)[0]

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
            with self._db.read() as conn:
                used = [row[0] for chunk in sq.chunks(ids) for row in conn.execute(
                    f"SELECT id FROM tasks WHERE id IN ({sq.marks(len(chunk))})", chunk)]
            clash = used[0] if used else ids
            raise ValidationError("id", clash, "a task with this id already exists") from None

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
        for column in ("name", "room_id", "world_id", "entity_id"):
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
        sql = source + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order}"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        with self._db.read() as conn:
            return [sq.to_task(row) for row in conn.execute(sql, params)]

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

    # --- leases ------------------------------------------------------------------------

    def claim(self, names: Collection[str], limit: int, now: float, owner: str,
              lease_ttl: float) -> list[Claim]:
        """Lease up to ``limit`` due PENDING tasks named in ``names`` (see ``TaskStore.claim``).

        Due means ``run_at <= now``. Empty ``names`` or ``limit <= 0`` claims nothing.
        """
        request = ClaimRequest(names, limit, owner, lease_ttl)
        if not request.names or limit <= 0:
            return []
        with self._db.tx() as conn:
            return self._claim_in(conn, request, now)

    def _claim_in(self, conn: sqlite3.Connection, request: ClaimRequest, now: float) -> list[Claim]:
        """The claim, inside the caller's write transaction."""
        wanted, limit = request.names, request.limit
        if not wanted or limit <= 0:
            return []
        params: list[Any] = []
        for _ in PRIORITIES:
            for name in wanted:
                params.extend((name, now, limit))
        params.append(limit)
        rows = conn.execute(sq.claim_sql(len(wanted)), params).fetchall()
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
        for row, token in zip(rows, tokens, strict=True):
            values = list(row[1:])  # as it was; patch what the UPDATE changed
            values[sq.AT_STATUS], values[sq.AT_UPDATED] = sq.RUNNING_VALUE, now
            values[sq.AT_ATTEMPTS] += 1
            claims.append(Claim(sq.to_task(values), token))
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
            status = TaskStatus(item.status)
            if status is TaskStatus.RUNNING:
                raise ValidationError("status", item.status.value, "an attempt cannot finish RUNNING")
            prepared.append((item, status, sq.dumps("result", item.result)))
        return prepared

    @staticmethod
    def _finish_in(conn: sqlite3.Connection, prepared: list[tuple[Finish, TaskStatus, str]],
                   now: float) -> list[str]:
        """The finish, inside the caller's write transaction."""
        ids = list(dict.fromkeys(item.task_id for item, _, _ in prepared))
        live: dict[str, tuple[str, int]] = {}
        for chunk in sq.chunks(ids):
            for task_id, token, paused in conn.execute(
                    "SELECT id, token, pause_requested FROM tasks WHERE status = 'running' "
                    f"AND id IN ({sq.marks(len(chunk))})", chunk):
                live[task_id] = (token, paused)
        applied: list[str] = []
        params: list[tuple[Any, ...]] = []
        for item, status, result in prepared:
            current = live.get(item.task_id)
            if current is None or current[0] != item.token:
                continue
            del live[item.task_id]
            if status is TaskStatus.PENDING and current[1]:
                status = TaskStatus.PAUSED
            params.append((status.value, item.run_at, result, item.error, item.failure_count,
                           item.crash_count, now if status.finished else None, now, now,
                           item.task_id, item.token))
            applied.append(item.task_id)
        conn.executemany(
            "UPDATE tasks SET status = ?, run_at = COALESCE(?, run_at), result = ?, error = ?, "
            "failure_count = ?, crash_count = ?, finished_at = ?, updated_at = ?, last_run_at = ?, "
            f"{sq.LEAVE_RUNNING} WHERE id = ? AND token = ? AND status = 'running'", params)
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
                "INSERT INTO task_logs (task_id, attempt, created, level, message) "
                "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ?)",
                [(r.task_id, r.attempt, r.created, r.level, r.message, r.task_id) for r in records])

    def logs(self, task_id: str) -> list[LogRecord]:
        """The task's log lines, oldest first (by ``created``, then by arrival)."""
        with self._db.read() as conn:
            return [LogRecord(*row) for row in conn.execute(
                "SELECT task_id, attempt, created, level, message FROM task_logs "
                "WHERE task_id = ? ORDER BY created, seq", (task_id,))]

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

    # --- maintenance ----------------------------------------------------------------------

    def reclaim_expired(self, now: float, max_crashes: int) -> list[Task]:
        """RUNNING rows with ``lease_expires_at <= now`` → PENDING (PAUSED if requested), crash + 1.

        When the new ``crash_count`` reaches ``max_crashes`` (if ``max_crashes >= 1``)
        the row becomes FAILED with an error saying it was quarantined. ``run_at``
        and ``attempts`` are kept. Returns the rows after the change, oldest lease first.
        """
        with self._db.tx() as conn:
            rows = conn.execute(
                "SELECT seq, crash_count, owner, pause_requested FROM tasks INDEXED BY tasks_lease "
                "WHERE status = 'running' AND lease_expires_at <= ? ORDER BY lease_expires_at, seq",
                (now,)).fetchall()
            params: list[tuple[Any, ...]] = []
            for seq, crashes, owner, paused in rows:
                crashes += 1
                if max_crashes >= 1 and crashes >= max_crashes:
                    status, finished = "failed", now
                    error = (f"Quarantined: the lease expired {crashes} times (max_crashes={max_crashes}); "
                             f"last owner {owner!r}")
                else:
                    status, finished = ("paused" if paused else "pending"), None
                    error = f"Crashed: the lease of owner {owner!r} expired"
                params.append((status, crashes, error, finished, now, seq))
            conn.executemany(
                "UPDATE tasks SET status = ?, crash_count = ?, error = ?, finished_at = ?, "
                f"updated_at = ?, {sq.LEAVE_RUNNING} WHERE seq = ?", params)
            if params:
                self._announce(conn, None)
            return sq.fetch_seqs(conn, [row[0] for row in rows])

    def next_due(self, names: Collection[str]) -> float | None:
        """The earliest ``run_at`` of a PENDING task named in ``names``, or None."""
        wanted = sorted(set(names))
        if not wanted:
            return None
        params = [name for _ in PRIORITIES for name in wanted]
        with self._db.read() as conn:
            value = conn.execute(sq.next_due_sql(len(wanted)), params).fetchone()[0]
        return None if value is None else float(value)

    def next_lease_expiry(self) -> float | None:
        """The earliest ``lease_expires_at`` of any RUNNING task, or None."""
        with self._db.read() as conn:
            value = conn.execute(
                "SELECT MIN(lease_expires_at) FROM tasks INDEXED BY tasks_lease "
                "WHERE status = 'running'").fetchone()[0]
        return None if value is None else float(value)

    def prune(self, before: float) -> int:
        """Delete SUCCEEDED / FAILED / CANCELLED tasks (tags, logs) with ``finished_at < before``."""
        # "+status" keeps the planner on tasks_finished instead of walking every finished row.
        where = f"finished_at < ? AND +status IN {sq.FINISHED!r}"
        with self._db.tx() as conn:
            sq.untag(conn, conn.execute(f"SELECT seq, tags FROM tasks WHERE {where} AND tags != '[]'",
                                           (before,)).fetchall())
            conn.execute(f"DELETE FROM task_logs WHERE task_id IN (SELECT id FROM tasks WHERE {where})",
                         (before,))
            self._prune_firings(conn, before)
            return conn.execute(f"DELETE FROM tasks WHERE {where}", (before,)).rowcount

    def counts(self) -> dict[str, int]:
        """Number of tasks by status value (every status present, zeros included)."""
        out = {status.value: 0 for status in TaskStatus}
        with self._db.read() as conn:
            out.update(conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall())
        return out

    def counts_by_queue(self) -> dict[str, dict[str, int]]:
        """Per queue (None counted as ``DEFAULT_QUEUE``), tasks by status value, zeros included."""
        out: dict[str, dict[str, int]] = {}
        with self._db.read() as conn:
            rows = conn.execute("SELECT COALESCE(queue, ?), status, COUNT(*) FROM tasks GROUP BY 1, 2",
                                (DEFAULT_QUEUE,)).fetchall()
        for queue, status, count in rows:
            out.setdefault(str(queue), {value.value: 0 for value in TaskStatus})[str(status)] += int(count)
        return out

    def pending_names(self) -> dict[str, int]:
        """PENDING task counts by name (names with none are left out)."""
        # A loose index scan: hop from name to name inside the pending part of
        # tasks_claim and count each name's range.
        sql = (
            "WITH RECURSIVE names(name) AS ("
            "SELECT (SELECT MIN(name) FROM tasks WHERE status = 'pending') UNION ALL "
            "SELECT (SELECT MIN(name) FROM tasks WHERE status = 'pending' AND name > names.name) "
            "FROM names WHERE names.name IS NOT NULL) "
            "SELECT name, (SELECT COUNT(*) FROM tasks WHERE status = 'pending' AND tasks.name = names.name) "
            "FROM names WHERE name IS NOT NULL")
        with self._db.read() as conn:
            return {name: count for name, count in conn.execute(sql) if count}

    def data_version(self) -> int:
        """A number that changes when another connection commits (``PRAGMA data_version``).

        Cheap; lets a scheduler notice tasks created by other processes (a CLI).
        """
        with self._db.read() as conn:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        """Close the connection. Idempotent; later calls raise ``StoreError``."""
        self._wake.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._db.close()


def _earliest(tasks: Sequence[Task]) -> float:
    """The earliest ``run_at`` among unfinished ``tasks`` (inf: none will ever be due)."""
    due = [task.run_at.timestamp() for task in tasks if task.run_at is not None and not task.status.finished]
    return min(due) if due else math.inf
