"""``PostgresStore``: the task table in PostgreSQL, for several nodes sharing one database.

With the rest of ``storage.postgres``, the only code that imports ``psycopg``. Tables live in
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
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from ...errors import StoreError, TaskNotFound, ValidationError
from ...models import PRIORITIES, Claim, Task, TaskStatus
from ...spec import check_search, distinct_ids
from .._rules import key_times, moved_run_at
from ..base import ClaimRequest, TaskQuery
from ..sql import codec
from ..sql.cluster import SQLCluster
from . import schema as pg
from .attempts import PostgresAttempts
from .iterations import PostgresIterations
from .listen import Listener, Wakeups
from .maintenance import PostgresMaintenance
from .queues import PostgresQueues
from .transitions import PostgresTransitions

__all__ = ["PostgresStore"]


class PostgresStore(PostgresAttempts, PostgresIterations, PostgresMaintenance, PostgresTransitions, PostgresQueues,
                    Wakeups, SQLCluster):
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
        """Test helper (the contract suite): empty every table of this store's schema."""
        with self._tx() as conn:
            conn.execute("TRUNCATE tasks, task_logs, nodes, leases, schedules, schedule_firings, queues, "
                         "queue_starts RESTART IDENTITY")

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
        keys = key_times(tasks)
        claims: list[Claim] = []
        try:
            with self._tx() as conn:
                if keys:  # a key past its expiry is given up by its row: free again (statements.insert)
                    conn.execute(pg.FREE_EXPIRED_KEYS, (list(keys), list(keys.values())))
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
                        (list(keys),)).fetchall())
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
        for column in ("name", "room_id", "world_id", "entity_id", "queue", "parent_id"):
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
        order = ("finished_at DESC NULLS LAST, seq DESC" if query.newest_first
                 else "priority, run_at NULLS LAST, seq" if query.run_order else "seq")
        text = pg.SELECT + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order}"
        if query.limit is not None or query.offset:
            text += " LIMIT %s OFFSET %s"
            params.extend((query.limit, query.offset))
        with self._tx() as conn:
            return [codec.to_task(row) for row in conn.execute(text.encode(), params)]

    def search(self, text: str, *, limit: int | None = None) -> list[Task]:
        """``TaskStore.search`` by ``to_tsvector('simple', ...)`` per row (no index: a scan)."""
        wanted, limit = check_search(text, limit)
        if not wanted or limit == 0:
            return []
        with self._tx() as conn:
            return [codec.to_task(row) for row in conn.execute(
                pg.SELECT + " WHERE to_tsvector('simple', name || ' ' || description || ' ' || tags) "
                "@@ to_tsquery('simple', %s) ORDER BY seq LIMIT %s", (" & ".join(wanted), limit))]

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
