"""PostgresStore specifics: connection errors, concurrent claimers and schemas, isolation.

Needs a PostgreSQL server (``ACTORS_TEST_POSTGRES_DSN``): skipped when none answers,
failed instead when ``ACTORS_REQUIRE_POSTGRES=1``. Each test works in its own
schema and drops it afterwards.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from actors.errors import StoreError
from actors.models import Task, TaskStatus
from actors.spec import TaskSpec, build_task
from actors.storage.base import Finish, TaskQuery
from actors.storage.postgres import PostgresStore
from tests.helpers import postgres_dsn_or_skip

pytestmark = pytest.mark.postgres

T0 = 1_700_000_000.0
LEASE = 30.0


def task(n: int, **spec: Any) -> Task:
    spec.setdefault("name", "EMAIL")
    return build_task(TaskSpec(**spec), task_id=f"t{n:06d}", now=T0)


@pytest.fixture
def dsn() -> str:
    return postgres_dsn_or_skip()


@pytest.fixture
def schema_name(dsn: str) -> Iterator[Callable[[], str]]:
    """Makes fresh schema names; drops every one of them after the test."""
    made: list[str] = []

    def make() -> str:
        made.append(f"actors_test_{uuid.uuid4().hex[:12]}")
        return made[-1]

    yield make
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in made:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def open_store(dsn: str, schema_name: Callable[[], str]) -> Iterator[Callable[..., PostgresStore]]:
    """Opens stores (in a fresh schema unless one is named) and closes them after the test."""
    stores: list[PostgresStore] = []

    def make(schema: str | None = None, **kwargs: Any) -> PostgresStore:
        stores.append(PostgresStore(dsn, schema=schema or schema_name(), **kwargs))
        return stores[-1]

    yield make
    for store in stores:
        store.close()


# --- connecting -------------------------------------------------------------------------------


@pytest.mark.parametrize("dsn_text", [
    "postgresql://postgres@127.0.0.1:1/test",
    "host=127.0.0.1 port=1 dbname=test user=postgres",
])
def test_an_unreachable_server_raises_store_error_naming_the_host_quickly(dsn_text: str) -> None:
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:1") as info:
        PostgresStore(dsn_text, connect_timeout=2.0)
    assert time.monotonic() - started < 2.0 + 2
    assert info.value.__cause__ is None  # no psycopg traceback attached


def test_a_malformed_dsn_raises_store_error() -> None:
    with pytest.raises(StoreError):
        PostgresStore("host=127.0.0.1 port=1 this is not a dsn", connect_timeout=1.0)


def test_the_password_never_appears_in_the_error() -> None:
    with pytest.raises(StoreError) as info:
        PostgresStore("postgresql://postgres:s3cret-pw@127.0.0.1:1/test", connect_timeout=1.0)
    assert "s3cret-pw" not in str(info.value)


def test_a_bad_schema_name_is_refused() -> None:
    with pytest.raises(ValueError, match="schema"):
        PostgresStore("postgresql://postgres@127.0.0.1:1/test", schema='x"; DROP TABLE tasks; --')


def test_a_postgresql_url_opens_the_store(dsn: str, schema_name: Callable[[], str]) -> None:
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    url = (f"postgresql://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:"
           f"{info.get('port', 5432)}/{info.get('dbname', 'test')}")
    store = PostgresStore(url, schema=schema_name())
    try:
        assert store.add([task(1)]) == ["t000001"]
        assert store.counts()["pending"] == 1
    finally:
        store.close()


def test_a_closed_store_refuses_work_with_store_error(open_store: Callable[..., PostgresStore]) -> None:
    store = open_store()
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.counts()


# --- schemas ----------------------------------------------------------------------------------


def test_two_stores_can_create_the_same_schema_at_once(dsn: str, schema_name: Callable[[], str]) -> None:
    schema = schema_name()
    barrier = threading.Barrier(4)
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait(timeout=10)
        try:
            stores.append(PostgresStore(dsn, schema=schema))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert errors == []
        assert len(stores) == 4
        stores[0].add([task(1)])
        assert all(store.get("t000001") is not None for store in stores)
    finally:
        for store in stores:
            store.close()


def test_stores_in_different_schemas_do_not_see_each_other(open_store: Callable[..., PostgresStore]) -> None:
    one, two = open_store(), open_store()
    one.add([task(1, tags=["x"])])
    two.add([task(2, tags=["x"])])
    assert [t.id for t in one.query(TaskQuery(tags=("x",)))] == ["t000001"]
    assert [t.id for t in two.query(TaskQuery())] == ["t000002"]
    assert one.get("t000002") is None
    assert [c.task.id for c in two.claim(["EMAIL"], 10, T0, "n", LEASE)] == ["t000002"]


def test_reopening_a_schema_keeps_its_tasks(open_store: Callable[..., PostgresStore],
                                            schema_name: Callable[[], str]) -> None:
    schema = schema_name()
    first = open_store(schema)
    first.add([task(1)])
    first.close()
    assert open_store(schema).get("t000001") is not None


def test_a_schema_holding_foreign_tables_is_refused(dsn: str, schema_name: Callable[[], str]) -> None:
    schema = schema_name()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE TABLE {}.tasks (x int)").format(sql.Identifier(schema)))
    with pytest.raises(StoreError, match="not an actors task store"):
        PostgresStore(dsn, schema=schema)


def test_a_version_3_schema_gains_parent_ids_and_expiring_keys_keeping_its_tasks(
        dsn: str, schema_name: Callable[[], str], open_store: Callable[..., PostgresStore]) -> None:
    """Migration 4: ``idempotency_expires_at`` and ``parent_id`` (NULL on the rows already there)."""
    from actors.storage.postgres import schema as pg

    schema = schema_name()
    old_columns = pg.TASK_COLUMNS[:pg.TASK_COLUMNS.index("idempotency_key") + 1]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        for migration in pg.MIGRATIONS[:3]:
            for statement in migration.split(";"):
                if statement.strip():
                    conn.execute(statement.encode())
        conn.execute("CREATE TABLE actors_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO actors_meta VALUES ('application', 'actors'), ('schema_version', '3')")
        from actors.storage.sql.codec import task_row

        conn.execute(f"INSERT INTO tasks ({', '.join(old_columns)}) VALUES ({', '.join(['%s'] * len(old_columns))})"
                     .encode(), task_row(task(1))[:len(old_columns)])
    store = open_store(schema)
    old = store.get("t000001")
    assert old is not None and old.parent_id is None and old.idempotency_expires_at is None
    store.add([task(2, idempotency_key="k", idempotency_ttl=5.0)])
    assert [t.id for t in store.query(TaskQuery(name="EMAIL"))] == ["t000001", "t000002"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT value FROM {}.actors_meta WHERE key = 'schema_version'")
                           .format(sql.Identifier(schema))).fetchone()
    assert row == (str(pg.SCHEMA_VERSION),)


# --- concurrent claims ------------------------------------------------------------------------


def _drain(store: PostgresStore, owner: str, out: list[str]) -> None:
    while True:
        claims = store.claim(["EMAIL"], 7, T0, owner, LEASE)
        if not claims:
            return
        out.extend(claim.task.id for claim in claims)
        store.finish([Finish(c.task.id, c.token, TaskStatus.SUCCEEDED) for c in claims], T0)


def test_two_stores_claiming_at_once_never_share_a_row(open_store: Callable[..., PostgresStore],
                                                       schema_name: Callable[[], str]) -> None:
    schema = schema_name()
    one, two = open_store(schema), open_store(schema)
    one.add([task(n) for n in range(600)])
    got: dict[str, list[str]] = {"a": [], "b": []}
    threads = [threading.Thread(target=_drain, args=(one, "a", got["a"])),
               threading.Thread(target=_drain, args=(two, "b", got["b"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    claimed = got["a"] + got["b"]
    assert len(claimed) == len(set(claimed)) == 600
    assert one.counts()["succeeded"] == 600


def _claim_in_process(dsn: str, schema: str, owner: str, queue: Any) -> None:
    store = PostgresStore(dsn, schema=schema)
    out: list[str] = []
    try:
        _drain(store, owner, out)
    finally:
        store.close()
        queue.put(out)


def test_two_processes_claiming_at_once_never_share_a_row(dsn: str, open_store: Callable[..., PostgresStore],
                                                          schema_name: Callable[[], str]) -> None:
    schema = schema_name()
    store = open_store(schema)
    store.add([task(n) for n in range(400)])
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(dsn, schema, f"p{i}", queue)) for i in range(2)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    claimed = [task_id for result in results for task_id in result]
    assert len(claimed) == len(set(claimed)) == 400
    assert store.counts()["succeeded"] == 400


def test_claim_follows_an_index(dsn: str, open_store: Callable[..., PostgresStore]) -> None:
    store = open_store()
    store.add([task(n, delay=n) for n in range(2000)])
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema)))
        conn.execute("ANALYZE tasks")
        plan = "\n".join(row[0] for row in conn.execute(
            "EXPLAIN SELECT seq FROM tasks WHERE status = 'pending' AND name = ANY(%s) "
            "AND run_at <= %s ORDER BY priority, run_at, seq LIMIT 10 FOR UPDATE SKIP LOCKED",
            (["EMAIL"], T0 + 5000)))
    assert "Seq Scan" not in plan, plan
