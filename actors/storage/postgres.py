"""``PostgresStore``: the task table in PostgreSQL, for several nodes sharing one database.

The only module (with ``_pg_schema``) that imports ``psycopg``. Tables live in
their own schema (``actors`` by default), created with its migrations on first
open under an advisory lock. Every batch (``add``, ``claim``, ``finish``,
``release``) is one transaction; ``claim`` selects due rows ``FOR UPDATE SKIP
LOCKED`` so concurrent claimers (threads, processes, nodes) never share a row.

Semantics mirror ``SQLiteStore`` exactly (see its module docstring; the contract
suite checks both): validation on ``add`` / ``update`` / ``finish``, a pause
requested while running honoured when the row leaves RUNNING for PENDING,
idempotency keys, all-tags queries, creation order by ``seq``, log ordering by
``created`` then arrival. Every ``psycopg`` error surfaces as ``StoreError``
naming the server (host:port/dbname), never the password.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from ..errors import StoreError, TaskNotFound, ValidationError
from ..models import PRIORITIES, Claim, Task, TaskStatus
from . import _codec as codec
from . import _pg_schema as pg
from ._cluster_sql import SQLCluster
from ._pg_listen import Listener
from ._rules import moved_run_at, not_paused
from .base import DEFAULT_QUEUE, ClaimRequest, Finish, LogRecord, TaskQuery, distinct_ids

__all__ = ["PostgresStore"]

_FINISHED = list(codec.FINISHED)
_CLAIM = (
    "WITH picked AS (SELECT seq FROM tasks WHERE status = 'pending' AND name = ANY(%s) "
    "AND run_at <= %s ORDER BY priority, run_at, seq LIMIT %s FOR UPDATE SKIP LOCKED) "
    "UPDATE tasks SET status = 'running', attempts = tasks.attempts + 1, owner = %s, "
    "token = replace(gen_random_uuid()::text, '-', ''), lease_expires_at = %s, updated_at = %s "
    "FROM picked WHERE tasks.seq = picked.seq RETURNING tasks.seq, tasks.token, "
    + ", ".join(f"tasks.{column}" for column in codec.TASK_COLUMNS))
_FINISH = (
    "UPDATE tasks SET status = CASE WHEN v.status = 'pending' AND tasks.pause_requested "
    "THEN 'paused' ELSE v.status END, run_at = COALESCE(v.run_at, tasks.run_at), "
    "result = v.result, error = v.error, failure_count = v.failure_count, "
    "crash_count = v.crash_count, finished_at = CASE WHEN v.status = ANY(%s) THEN %s END, "
    f"updated_at = %s, last_run_at = %s, {pg.LEAVE_RUNNING} "
    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::text[], %s::text[], "
    "%s::int[], %s::int[]) AS v(id, token, status, run_at, result, error, failure_count, crash_count) "
    "WHERE tasks.id = v.id AND tasks.token = v.token AND tasks.status = 'running' RETURNING tasks.id")


class PostgresStore(SQLCluster):
    """The ``TaskStore`` over a PostgreSQL database.

    Args:
        dsn: a libpq connection string or URL (``postgresql://user@host:5432/db``).
        schema: the schema holding the tables (created if missing); a lower-case
            identifier. Stores on different schemas never see each other's tasks.
        connect_timeout: seconds to wait for the server before ``StoreError``
            (connecting, and waiting for a pooled connection).
        pool_size: the most connections this store opens.
        listen_retry: seconds before the listener (``subscribe``) reconnects after
            losing its connection (doubling up to 5 s while it fails).

    Raises:
        StoreError: the server does not answer, refuses the login, or the schema
            is not an actors task store (the message names host:port/dbname).
        ValidationError: a bad ``schema``, ``connect_timeout`` or ``pool_size`` (named).
    """

    def __init__(self, dsn: str, *, schema: str = "actors", connect_timeout: float = 5.0,
                 pool_size: int = 4, listen_retry: float = 0.5) -> None:
        self.schema = pg.check_schema_name(schema)
        if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, (int, float)) \
                or not 0 < connect_timeout < math.inf:
            raise ValidationError("connect_timeout", connect_timeout, "must be a finite number of seconds > 0")
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ValidationError("pool_size", pool_size, "must be an int >= 1")
        self.where = pg.describe(dsn)
        self._lock = threading.RLock()
        self._dsn = dsn
        self._instance = uuid.uuid4().hex
        self._channel = f"actors_{self.schema}"[:63]
        self._listener: Listener | None = None
        self._listen_retry = listen_retry
        self._unheard = 0  # data_version while nobody listens: a new value every call
        # libpq's connect_timeout is whole seconds (and at least 2).
        kwargs: dict[str, Any] = {"connect_timeout": max(2, math.ceil(connect_timeout))}
        self._connect_kwargs = kwargs
        try:
            conn = psycopg.connect(dsn, **kwargs)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {self.where}: {_first_line(exc)}") from None
        except Exception as exc:  # a malformed DSN may raise anything
            raise StoreError(f"cannot connect to PostgreSQL at {self.where}: {exc}") from None
        try:
            pg.migrate(conn, self.schema, self.where)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            conn.close()
        self._pool: ConnectionPool[Any] | None = ConnectionPool(
            dsn, min_size=1, max_size=pool_size, timeout=connect_timeout, kwargs=kwargs,
            configure=self._configure, open=False, name=f"actors-{self.schema}")
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except psycopg.Error as exc:
            self._pool.close()
            self._pool = None
            raise self._error(exc) from None

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r}, schema={self.schema!r})"

    # --- plumbing -----------------------------------------------------------------------

    _MARK = "%s"

    def _cluster_tx(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        return self._tx()

    def _insert_fired(self, conn: psycopg.Connection[Any], tasks: Sequence[Task]) -> None:
        with conn.cursor() as cur:
            cur.executemany(pg.INSERT, [(*codec.task_row(task), list(task.tags)) for task in tasks])
        self._announce(conn, _earliest(tasks))

    def _announce(self, conn: psycopg.Connection[Any], due: float | None) -> None:
        """Tell listening nodes (on commit) that work may be due at ``due`` (None: now)."""
        conn.execute("SELECT pg_notify(%s, %s)", (self._channel, f"{self._instance} {'' if due is None else due}"))

    def subscribe(self, on_wake: Callable[[float | None], None]) -> None:
        """Call ``on_wake(due)`` when another store instance commits work due at ``due``.

        Starts the ``LISTEN`` thread (once; re-listens after a dropped connection,
        first waiting ``listen_retry`` seconds). While it is disconnected ``data_version``
        changes on every call, so the node falls back to polling.
        """
        with self._lock:
            if self._listener is None:
                self._listener = Listener(self._dsn, self._connect_kwargs, self._channel, self._instance,
                                          on_wake, retry=self._listen_retry)

    def data_version(self) -> int:
        """Changes when another store instance committed work (a notification arrived).

        Without a connected listener (not subscribed, or reconnecting) it changes on
        every call: the caller cannot tell, so it must look.
        """
        listener = self._listener
        if listener is None or not listener.connected:
            self._unheard -= 1
            return self._unheard
        return listener.version

    def listener_health(self) -> dict[str, Any] | None:
        """The listener's state (connected, reconnects, notifications, backend_pid), or None."""
        listener = self._listener
        return None if listener is None else listener.health()

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        conn.commit()

    def _error(self, exc: BaseException) -> StoreError:
        return StoreError(f"PostgreSQL {self.where} (schema {self.schema!r}): {_first_line(exc)}")

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on a pooled connection: commit on success, roll back on error."""
        with self._lock:
            pool = self._pool
        if pool is None:
            raise StoreError(f"task store {self!r} is closed")
        try:
            with pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def reset_for_tests(self) -> None:
        """Test helper: delete every task and log line in this store's schema.

        Used by the contract suite so each test starts empty; never call it on a
        store holding real work.
        """
        with self._tx() as conn:
            conn.execute("TRUNCATE tasks, task_logs, nodes, leases, schedules, schedule_firings RESTART IDENTITY")

    # --- creating and reading ---------------------------------------------------------

    def add(self, tasks: Sequence[Task]) -> list[str]:
        """Insert tasks in one transaction; returns their ids in order.

        A task whose ``idempotency_key`` is already used (in the table, earlier in the
        batch, or by a concurrent ``add``) is not inserted and the existing id is
        returned in its place.

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
        rows = [codec.task_row(task) for task in tasks]
        ids = distinct_ids(tasks)
        keys = list({task.idempotency_key for task in tasks if task.idempotency_key is not None})
        claims: list[Claim] = []
        try:
            with self._tx() as conn:
                fresh: list[tuple[Any, ...]] = []
                seen: set[str] = set()
                for task, row in zip(tasks, rows, strict=True):
                    key = task.idempotency_key
                    if key is not None:
                        if key in seen:
                            continue
                        seen.add(key)
                    fresh.append((*row, list(task.tags)))
                if fresh:
                    with conn.cursor() as cur:
                        cur.executemany(pg.INSERT, fresh)
                known: dict[str, str] = {}
                if keys:
                    known.update(conn.execute(
                        "SELECT idempotency_key, id FROM tasks WHERE idempotency_key = ANY(%s)",
                        (keys,)).fetchall())
                if claim is not None:
                    claims = self._claim_in(conn, claim, now)
                claimed = {c.task.id for c in claims}
                if tasks and any(task.id not in claimed for task in tasks):  # some wait: wake other nodes
                    self._announce(conn, _earliest(tasks))
        except StoreError as exc:
            cause = exc.__context__
            if isinstance(cause, psycopg.errors.UniqueViolation):
                with self._tx() as conn:
                    used = [row[0] for row in conn.execute(
                        "SELECT id FROM tasks WHERE id = ANY(%s)", (ids,))]
                raise ValidationError("id", used[0] if used else ids,
                                      "a task with this id already exists") from None
            if isinstance(cause, psycopg.errors.IntegrityError):
                column = getattr(cause.diag, "column_name", None) or "task"
                raise ValidationError(column, None, f"refused by the task table: {cause}") from None
            raise
        return [known.get(task.idempotency_key, task.id) if task.idempotency_key is not None
                else task.id for task in tasks], claims

    def get(self, task_id: str) -> Task | None:
        """The task, or None."""
        with self._tx() as conn:
            row = conn.execute(pg.SELECT + " WHERE id = %s", (task_id,)).fetchone()
        return None if row is None else codec.to_task(row)

    def get_many(self, task_ids: Collection[str]) -> dict[str, Task]:
        """The tasks that exist among ``task_ids``, by id."""
        ids = list(dict.fromkeys(task_ids))
        if not ids:
            return {}
        with self._tx() as conn:
            return {row[0]: codec.to_task(row) for row in conn.execute(
                pg.SELECT + " WHERE id = ANY(%s)", (ids,))}

    def query(self, query: TaskQuery) -> list[Task]:
        """Tasks matching every set field of ``query``, in creation order, at most ``limit``."""
        if query.limit is not None and query.limit <= 0:
            return []
        where: list[str] = []
        params: list[Any] = []
        for column in ("name", "room_id", "world_id", "entity_id"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        statuses = list(dict.fromkeys(TaskStatus(s).value for s in query.status))
        if statuses:
            where.append("status = ANY(%s)")
            params.append(statuses)
        if query.tags:
            where.append("tag_list @> %s::text[]")
            params.append(list(dict.fromkeys(query.tags)))
        text = pg.SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
        if query.limit is not None:
            text += " LIMIT %s"
            params.append(query.limit)
        with self._tx() as conn:
            return [codec.to_task(row) for row in conn.execute(text.encode(), params)]

    # --- changing -------------------------------------------------------------------

    def update(self, task_id: str, changes: Mapping[str, Any], now: float) -> Task:
        """Set fields named in ``UPDATABLE_FIELDS`` (metadata and tags are replaced whole).

        Raises:
            ValidationError: a field is not updatable or its value is refused.
            TaskNotFound: no such task.
        """
        columns = codec.update_columns(changes)
        if "tags" in columns:
            columns["tag_list"] = json.loads(columns["tags"])
        with self._tx() as conn:
            old = conn.execute("SELECT status, update_interval, last_run_at, created_at, attempts FROM tasks "
                               "WHERE id = %s FOR UPDATE", (task_id,)).fetchone() \
                if "update_interval" in columns else None
            run_at = None if old is None else moved_run_at(
                columns, status=old[0], interval=old[1], last_run_at=old[2], created_at=old[3],
                attempts=old[4], now=now)
            if run_at is not None:
                columns["run_at"] = run_at
            sets = "".join(f"{column} = %s, " for column in columns)
            row = conn.execute(
                f"UPDATE tasks SET {sets}updated_at = %s WHERE id = %s RETURNING {', '.join(codec.TASK_COLUMNS)}"
                .encode(), (*columns.values(), now, task_id)).fetchone()
            if row is not None:
                self._announce(conn, columns.get("run_at"))
        if row is None:
            raise TaskNotFound(task_id)
        return codec.to_task(row)

    def delete(self, task_id: str) -> bool:
        """Remove the task and its logs; False if there was none."""
        with self._tx() as conn:
            gone = conn.execute("DELETE FROM tasks WHERE id = %s", (task_id,)).rowcount
            if gone:
                conn.execute("DELETE FROM task_logs WHERE task_id = %s", (task_id,))
        return bool(gone)

    # --- leases ------------------------------------------------------------------------

    def claim(self, names: Collection[str], limit: int, now: float, owner: str,
              lease_ttl: float) -> list[Claim]:
        """Lease up to ``limit`` due PENDING tasks named in ``names`` (see ``TaskStore.claim``).

        One transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` in claim order, then
        one UPDATE giving each row a fresh random token. Rows another claimer holds
        locked are skipped, never shared.
        """
        request = ClaimRequest(names, limit, owner, lease_ttl)
        if not request.names or limit <= 0:
            return []
        with self._tx() as conn:
            return self._claim_in(conn, request, now)

    @staticmethod
    def _claim_in(conn: psycopg.Connection[Any], request: ClaimRequest, now: float) -> list[Claim]:
        """The claim, inside the caller's transaction."""
        if not request.names or request.limit <= 0:
            return []
        rows = conn.execute(_CLAIM, (list(request.names), now, request.limit, request.owner,
                                     now + request.lease_ttl, now)).fetchall()
        rows.sort(key=lambda row: (row[2 + 4], row[2 + 11], row[0]))  # priority, run_at, seq
        return [Claim(codec.to_task(row[2:]), row[1]) for row in rows]

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
            status = TaskStatus(item.status)
            if status is TaskStatus.RUNNING:
                raise ValidationError("status", item.status.value, "an attempt cannot finish RUNNING")
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
            [v[0].failure_count for v in values], [v[0].crash_count for v in values]))}
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
                "INSERT INTO task_logs (task_id, attempt, created, level, message) "
                "SELECT v.task_id, v.attempt, v.created, v.level, v.message FROM unnest("
                "%s::text[], %s::int[], %s::float8[], %s::text[], %s::text[]) WITH ORDINALITY "
                "AS v(task_id, attempt, created, level, message, n) "
                "WHERE EXISTS (SELECT 1 FROM tasks WHERE tasks.id = v.task_id) ORDER BY v.n",
                ([r.task_id for r in records], [r.attempt for r in records],
                 [r.created for r in records], [r.level for r in records],
                 [r.message for r in records]))

    def logs(self, task_id: str) -> list[LogRecord]:
        """The task's log lines, oldest first (by ``created``, then by arrival)."""
        with self._tx() as conn:
            return [LogRecord(*row) for row in conn.execute(
                "SELECT task_id, attempt, created, level, message FROM task_logs "
                "WHERE task_id = %s ORDER BY created, seq", (task_id,))]

    # --- user transitions ----------------------------------------------------------------

    @staticmethod
    def _status(conn: psycopg.Connection[Any], task_id: str) -> str:
        row = conn.execute("SELECT status FROM tasks WHERE id = %s FOR UPDATE", (task_id,)).fetchone()
        if row is None:
            raise TaskNotFound(task_id)
        return str(row[0])

    @staticmethod
    def _fetch(conn: psycopg.Connection[Any], task_id: str) -> Task:
        row = conn.execute(pg.SELECT + " WHERE id = %s", (task_id,)).fetchone()
        assert row is not None
        return codec.to_task(row)

    def pause(self, task_id: str, now: float) -> Task:
        """PENDING → PAUSED; RUNNING: pause requested (applied when the attempt ends).

        Any other state is left unchanged. Returns the task after the change.

        Raises:
            TaskNotFound: no such task.
        """
        with self._tx() as conn:
            status = self._status(conn, task_id)
            if status == "pending":
                conn.execute("UPDATE tasks SET status = 'paused', updated_at = %s WHERE id = %s",
                             (now, task_id))
            elif status == "running":
                conn.execute("UPDATE tasks SET pause_requested = TRUE, updated_at = %s WHERE id = %s",
                             (now, task_id))
            return self._fetch(conn, task_id)

    def resume(self, task_id: str, now: float) -> Task:
        """PAUSED → PENDING with ``failure_count = 0``; RUNNING: a requested pause is withdrawn.

        ``run_at`` is kept. Returns the task after.

        Raises:
            TaskNotFound: no such task. ValidationError: neither of those (``status``);
                nothing changes.
        """
        with self._tx() as conn:
            status = self._status(conn, task_id)
            if status == "paused":
                conn.execute("UPDATE tasks SET status = 'pending', failure_count = 0, updated_at = %s "
                             "WHERE id = %s", (now, task_id))
                self._announce(conn, None)
            elif status != "running" or not conn.execute(
                    "UPDATE tasks SET pause_requested = FALSE, updated_at = %s "
                    "WHERE id = %s AND pause_requested", (now, task_id)).rowcount:
                raise not_paused(status)
            return self._fetch(conn, task_id)

    def cancel(self, task_id: str, now: float) -> Task | None:
        """PENDING / PAUSED / RUNNING → CANCELLED, lease dropped; returns the task as it was.

        A finished task is returned unchanged; an unknown id returns None.
        """
        with self._tx() as conn:
            row = conn.execute(pg.SELECT + " WHERE id = %s FOR UPDATE", (task_id,)).fetchone()
            if row is None:
                return None
            before = codec.to_task(row)
            if not before.status.finished:
                conn.execute("UPDATE tasks SET status = 'cancelled', finished_at = %s, updated_at = %s, "
                             f"{pg.LEAVE_RUNNING} WHERE id = %s", (now, now, task_id))
            return before

    # --- maintenance ----------------------------------------------------------------------

    def reclaim_expired(self, now: float, max_crashes: int) -> list[Task]:
        """RUNNING rows with ``lease_expires_at <= now`` → PENDING (PAUSED if requested), crash + 1.

        When the new ``crash_count`` reaches ``max_crashes`` (if ``max_crashes >= 1``)
        the row becomes FAILED with an error saying it was quarantined. ``run_at``
        and ``attempts`` are kept. Returns the rows after the change, oldest lease
        first. Rows another node is reclaiming right now are skipped.
        """
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT seq, crash_count, owner, pause_requested FROM tasks "
                "WHERE status = 'running' AND lease_expires_at <= %s "
                "ORDER BY lease_expires_at, seq FOR UPDATE SKIP LOCKED", (now,)).fetchall()
            if not rows:
                return []
            seqs: list[int] = []
            statuses: list[str] = []
            crash_counts: list[int] = []
            errors: list[str] = []
            finished: list[float | None] = []
            for seq, crashes, owner, paused in rows:
                crashes += 1
                if max_crashes >= 1 and crashes >= max_crashes:
                    status, done = "failed", now
                    error = (f"Quarantined: the lease expired {crashes} times (max_crashes={max_crashes}); "
                             f"last owner {owner!r}")
                else:
                    status, done = ("paused" if paused else "pending"), None
                    error = f"Crashed: the lease of owner {owner!r} expired"
                seqs.append(seq)
                statuses.append(status)
                crash_counts.append(crashes)
                errors.append(error)
                finished.append(done)
            conn.execute(
                "UPDATE tasks SET status = v.status, crash_count = v.crash_count, error = v.error, "
                f"finished_at = v.finished_at, updated_at = %s, {pg.LEAVE_RUNNING} "
                "FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::text[], %s::float8[]) "
                "AS v(seq, status, crash_count, error, finished_at) WHERE tasks.seq = v.seq",
                (now, seqs, statuses, crash_counts, errors, finished))
            self._announce(conn, None)
            by_seq = {row[0]: codec.to_task(row[1:]) for row in conn.execute(
                pg.SELECT_SEQ + " WHERE seq = ANY(%s)", (seqs,))}
        return [by_seq[seq] for seq in seqs]

    def next_due(self, names: Collection[str]) -> float | None:
        """The earliest ``run_at`` of a PENDING task named in ``names``, or None."""
        wanted = sorted(set(names))
        if not wanted:
            return None
        with self._tx() as conn:
            row = conn.execute("SELECT MIN(run_at) FROM tasks WHERE status = 'pending' "
                               "AND name = ANY(%s)", (wanted,)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def next_lease_expiry(self) -> float | None:
        """The earliest ``lease_expires_at`` of any RUNNING task, or None."""
        with self._tx() as conn:
            row = conn.execute("SELECT MIN(lease_expires_at) FROM tasks WHERE status = 'running'").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def prune(self, before: float) -> int:
        """Delete SUCCEEDED / FAILED / CANCELLED tasks (and logs) with ``finished_at < before``."""
        with self._tx() as conn:
            ids = [row[0] for row in conn.execute(
                "DELETE FROM tasks WHERE finished_at < %s AND status = ANY(%s) RETURNING id",
                (before, _FINISHED))]
            if ids:
                conn.execute("DELETE FROM task_logs WHERE task_id = ANY(%s)", (ids,))
            self._prune_firings(conn, before)
        return len(ids)

    def counts(self) -> dict[str, int]:
        """Number of tasks by status value (every status present, zeros included)."""
        out = {status.value: 0 for status in TaskStatus}
        with self._tx() as conn:
            out.update((status, int(count)) for status, count in conn.execute(
                "SELECT status, COUNT(*) FROM tasks GROUP BY status"))
        return out

    def counts_by_queue(self) -> dict[str, dict[str, int]]:
        """Per queue (None counted as ``DEFAULT_QUEUE``), tasks by status value, zeros included."""
        out: dict[str, dict[str, int]] = {}
        with self._tx() as conn:
            rows = conn.execute("SELECT COALESCE(queue, %s), status, COUNT(*) FROM tasks GROUP BY 1, 2",
                                (DEFAULT_QUEUE,)).fetchall()
        for queue, status, count in rows:
            out.setdefault(str(queue), {value.value: 0 for value in TaskStatus})[str(status)] += int(count)
        return out

    def pending_names(self) -> dict[str, int]:
        """PENDING task counts by name (names with none are left out)."""
        with self._tx() as conn:
            return {name: int(count) for name, count in conn.execute(
                "SELECT name, COUNT(*) FROM tasks WHERE status = 'pending' GROUP BY name")}

    def close(self) -> None:
        """Stop listening and close the pool. Idempotent; later calls raise ``StoreError``."""
        with self._lock:
            pool, self._pool = self._pool, None
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        if pool is not None:
            try:
                pool.close()
            except psycopg.Error as exc:
                raise self._error(exc) from None


def _earliest(tasks: Sequence[Task]) -> float | None:
    times = [task.run_at.timestamp() for task in tasks if task.run_at is not None]
    return min(times) if times else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split("\n")[:2]) if len(text) < 400 else text[:400]


# Claim rows come back as (seq, token, *TASK_COLUMNS); the sort above relies on these.
assert codec.TASK_COLUMNS[4] == "priority" and codec.TASK_COLUMNS[11] == "run_at"
assert PRIORITIES[0] == "high"
