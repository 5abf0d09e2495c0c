"""SQLiteStore specifics: files, several connections and processes, schema checks, query plans."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from actors.errors import StoreError
from actors.models import Claim, Task, TaskStatus
from actors.spec import TaskSpec, build_task
from actors.storage.base import Finish, LogRecord, TaskQuery
from actors.storage.sqlite import SQLiteStore
from actors.storage.sqlite.schema import SCHEMA_VERSION

T0 = 1_700_000_000.0
LEASE = 30.0


def task(n: int, **spec: Any) -> Task:
    spec.setdefault("name", "EMAIL")
    return build_task(TaskSpec(**spec), task_id=f"t{n:06d}", now=T0)


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "tasks.db")


# --- files ----------------------------------------------------------------------------------


def test_reopening_the_file_keeps_tasks_logs_and_leases(db_path: str) -> None:
    store = SQLiteStore(db_path)
    store.add([task(1, tags=["a"], metadata={"k": [1]}), task(2)])
    [claim] = store.claim(["EMAIL"], 1, T0, "node", LEASE)
    store.append_logs([LogRecord(claim.task.id, 1, T0, "INFO", "started")])
    store.close()

    again = SQLiteStore(db_path)
    assert again.get(claim.task.id) == claim.task
    assert [t.id for t in again.query(TaskQuery(tags=("a",)))] == ["t000001"]
    assert again.logs(claim.task.id) == [LogRecord(claim.task.id, 1, T0, "INFO", "started")]
    assert again.finish([Finish(claim.task.id, claim.token, TaskStatus.SUCCEEDED)], T0 + 1) == [claim.task.id]
    again.close()


def test_the_file_is_in_wal_mode_and_synchronous_is_configurable(db_path: str) -> None:
    statements: list[str] = []
    store = SQLiteStore(db_path, synchronous="FULL", trace=statements.append)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert "PRAGMA synchronous = FULL" in statements
    assert "PRAGMA busy_timeout = 5000" in statements
    store.close()
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteStore(db_path, synchronous="OFF")


def test_rows_hold_json_and_numbers_never_pickles(db_path: str) -> None:
    store = SQLiteStore(db_path)
    store.add([task(1, metadata={"a": 1}, priority="low", tags=["x"])])
    store.close()
    with sqlite3.connect(db_path) as raw:
        row = raw.execute("SELECT metadata, tags, result, priority, run_at, status FROM tasks").fetchone()
    assert row == ('{"a":1}', '["x"]', "null", 2, T0, "pending")


def test_memory_databases_work(tmp_path: Path) -> None:
    store = SQLiteStore(":memory:")
    assert store.add([task(1)]) == ["t000001"]
    assert store.counts()["pending"] == 1
    store.close()


@pytest.mark.parametrize("content", [os.urandom(4096), b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_corrupt_file_raises_store_error_naming_the_path(db_path: str, content: bytes) -> None:
    Path(db_path).write_bytes(content)
    with pytest.raises(StoreError, match=r"tasks\.db"):
        SQLiteStore(db_path)


def test_a_directory_raises_store_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=str(tmp_path.name)):
        SQLiteStore(str(tmp_path))
    with pytest.raises(StoreError, match="missing-dir"):
        SQLiteStore(str(tmp_path / "missing-dir" / "tasks.db"))


def test_a_foreign_database_with_a_tasks_table_raises_store_error(db_path: str) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, done INTEGER)")
        raw.execute("INSERT INTO tasks (title, done) VALUES ('buy milk', 0)")
    raw.close()
    with pytest.raises(StoreError, match=r"tasks\.db.*not an actors task store"):
        SQLiteStore(db_path)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT title FROM tasks").fetchall() == [("buy milk",)]
    raw.close()


def test_a_database_with_unrelated_tables_gets_the_task_tables_beside_them(db_path: str) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    raw.close()
    store = SQLiteStore(db_path)
    assert store.add([task(1)]) == ["t000001"]
    store.close()


def test_a_newer_schema_version_raises_store_error(db_path: str) -> None:
    SQLiteStore(db_path).close()
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE actors_meta SET value = '999' WHERE key = 'schema_version'")
    raw.close()
    with pytest.raises(StoreError, match=r"tasks\.db.*schema version 999.*upgrade"):
        SQLiteStore(db_path)


def test_the_schema_version_is_recorded_once(db_path: str) -> None:
    SQLiteStore(db_path).close()
    SQLiteStore(db_path).close()
    with sqlite3.connect(db_path) as raw:
        meta = dict(raw.execute("SELECT key, value FROM actors_meta").fetchall())
    raw.close()
    assert meta == {"application": "actors", "schema_version": str(SCHEMA_VERSION),
                    "fts_indexed_seq": "0"}


def _old_file(db_path: str, version: int) -> None:
    """A file as actors wrote it at schema ``version`` (1, 3 or 4), with task ``t000001``: the
    released DDL run with plain sqlite3, as the code of that version did."""
    from actors.storage.sql.cluster import CLUSTER_DDL
    from actors.storage.sqlite import schema as _sqlite_schema
    from actors.storage.sqlite import statements as _sqlite_statements

    raw = sqlite3.connect(db_path, isolation_level=None)
    ddl = _sqlite_schema._V1 + (";" + CLUSTER_DDL + ";ALTER TABLE tasks ADD COLUMN last_run_at REAL"
                                if version >= 3 else "")
    for statement in ddl.split(";"):
        if statement.strip():
            raw.execute(statement)
    raw.execute("CREATE TABLE actors_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    raw.execute("INSERT INTO actors_meta VALUES ('application', 'actors'), ('schema_version', ?)", (str(version),))
    old_columns = _sqlite_statements.TASK_COLUMNS[:_sqlite_statements.TASK_COLUMNS.index("idempotency_key") + 1]
    raw.execute(f"INSERT INTO tasks (seq, {', '.join(old_columns)}) VALUES (1{', ?' * len(old_columns)})",
                _sqlite_statements.task_row(task(1))[:len(old_columns)])
    if version >= 4:
        _sqlite_schema.database(raw).table("tasks").enable_fts(
            list(_sqlite_schema.FTS_COLUMNS), fts_version="FTS5", tokenize="unicode61")
        raw.execute(f"INSERT INTO actors_meta VALUES ('{_sqlite_schema.FTS_INDEXED}', '1')")
        raw.executescript(_sqlite_schema.FTS_TRIGGERS)
    raw.close()


#: What migration 8 added (the trace context), dropped again to make a version 7 file.
_UNDO_8 = ("ALTER TABLE tasks DROP COLUMN trace",)
#: What migrations 8 and 7 (iterations and durable steps) added, dropped again to make a version 6 file.
_UNDO_7 = (*_UNDO_8, "ALTER TABLE tasks DROP COLUMN iteration", "ALTER TABLE tasks DROP COLUMN max_iterations",
           "ALTER TABLE tasks DROP COLUMN steps", "ALTER TABLE task_logs DROP COLUMN iteration")


def _rewound(db_path: str, version: int, *undo: str) -> None:
    """The closed store file at ``db_path`` made as version ``version`` left it: ``undo`` run, the version set."""
    raw = sqlite3.connect(db_path, isolation_level=None)
    for statement in (*undo, f"UPDATE actors_meta SET value = '{version}' WHERE key = 'schema_version'"):
        raw.execute(statement)
    raw.close()


def test_a_version_7_file_gains_the_trace_column_keeping_its_tasks(db_path: str) -> None:
    """Migration 8: ``trace`` on tasks (NULL for the tasks already there)."""
    store = SQLiteStore(db_path)
    store.add([task(1)])
    store.close()
    _rewound(db_path, 7, *_UNDO_8)
    store = SQLiteStore(db_path)
    assert [(t.id, t.trace) for t in store.query(TaskQuery())] == [("t000001", None)]
    carrier = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    store.add([dataclasses.replace(task(2), trace=carrier)])
    assert store.get("t000002").trace == carrier  # type: ignore[union-attr]
    store.close()


def test_a_version_6_file_gains_iterations_and_steps_keeping_its_tasks_and_logs(db_path: str) -> None:
    """Migration 7: ``iteration``, ``max_iterations`` and ``steps`` on tasks, ``iteration`` on logs."""
    store = SQLiteStore(db_path)
    store.add([task(1)])
    store.append_logs([LogRecord("t000001", 1, T0, "INFO", "before")])
    store.close()
    _rewound(db_path, 6, *_UNDO_7)
    store = SQLiteStore(db_path)
    assert [(t.id, t.iteration, t.max_iterations, t.steps) for t in store.query(TaskQuery())] == [
        ("t000001", 1, None, {})]
    assert [(r.message, r.iteration) for r in store.logs("t000001", iteration=1)] == [("before", 1)]
    claim = store.claim(["EMAIL"], 5, T0, "node", LEASE)[0]
    assert store.save_step(claim.task.id, claim.token, "k", 1, T0) is True
    store.close()


def test_a_version_5_file_gains_queues_keeping_its_tasks(db_path: str) -> None:
    """Migration 6: ``concurrency_key`` on tasks, the ``queues`` and ``queue_starts`` tables."""
    store = SQLiteStore(db_path)
    store.add([task(1)])
    store.close()
    _rewound(db_path, 5, *_UNDO_7, "DROP TABLE queues", "DROP TABLE queue_starts",
             "ALTER TABLE tasks DROP COLUMN concurrency_key")
    store = SQLiteStore(db_path)
    assert [(t.id, t.concurrency_key) for t in store.query(TaskQuery())] == [("t000001", None)]
    assert store.set_queue("q", {"concurrency": 1}).concurrency == 1
    assert len(store.claim(["EMAIL"], 5, T0, "node", LEASE)) == 1
    store.close()
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT value FROM actors_meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)
    raw.close()


def test_a_version_1_file_is_migrated_to_version_2_keeping_its_tasks(db_path: str) -> None:
    """A file written before nodes, leases and schedules existed opens and gains them."""
    _old_file(db_path, 1)
    store = SQLiteStore(db_path)
    store.heartbeat("node-a", 1.0, 30.0, {})
    assert [t.id for t in store.query(TaskQuery())] == ["t000001"]
    assert [node.node_id for node in store.nodes()] == ["node-a"]
    store.close()


@pytest.mark.parametrize("version", [1, 3])
def test_an_old_file_gains_full_text_search_over_the_tasks_it_holds(db_path: str, version: int) -> None:
    """Migration 4 (sqlite-utils ``enable_fts``) indexes the rows already there (the watermark
    starts at the highest of them); later rows are indexed by the next search."""
    _old_file(db_path, version)
    store = SQLiteStore(db_path)
    assert [t.id for t in store.search("email")] == ["t000001"]
    store.add([task(2)])
    store.update("t000001", {"tags": ["renamed"]}, T0)
    assert [t.id for t in store.search("email")] == ["t000001", "t000002"]
    assert [t.id for t in store.search("renamed")] == ["t000001"]
    store.close()
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT value FROM actors_meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)
        assert raw.execute("SELECT value FROM actors_meta WHERE key = 'fts_indexed_seq'").fetchone() == ("2",)
        triggers = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    raw.close()
    assert triggers == {"tasks_ad", "tasks_au"}  # no insert trigger: creates never pay the index


def test_a_version_4_file_gains_parent_ids_and_expiring_keys_keeping_its_tasks(db_path: str) -> None:
    """Migration 5: ``idempotency_expires_at`` and ``parent_id`` (NULL on the rows already there)."""
    _old_file(db_path, 4)
    store = SQLiteStore(db_path)
    old = store.get("t000001")
    assert old is not None and old.parent_id is None and old.idempotency_expires_at is None
    child = dataclasses.replace(task(2), parent_id="t000001")
    store.add([child])
    assert [t.id for t in store.query(TaskQuery(parent_id="t000001"))] == ["t000002"]
    assert [t.id for t in store.search("email")] == ["t000001", "t000002"]
    store.close()
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT value FROM actors_meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)
        assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'tasks_parent'").fetchone()
    raw.close()


def test_claims_and_attempt_ends_do_not_touch_the_search_index(db_path: str) -> None:
    """The update trigger fires only when an indexed column changes, not on every claim."""
    store = SQLiteStore(db_path)
    store.add([task(n) for n in range(5)])
    statements: list[str] = []
    tracing = SQLiteStore(db_path, trace=statements.append)
    claims = tracing.claim(["EMAIL"], 5, T0, "node", LEASE)
    tracing.finish([Finish(c.task.id, c.token, TaskStatus.SUCCEEDED) for c in claims], T0 + 1)
    tracing.close()
    store.close()
    assert claims and not any("tasks_fts" in s for s in statements)


def test_the_columns_an_insert_may_leave_out_are_the_nullable_ones_without_a_default(db_path: str) -> None:
    from actors.storage.sqlite import statements as _sqlite_statements

    SQLiteStore(db_path).close()
    with sqlite3.connect(db_path) as raw:
        info = raw.execute("PRAGMA table_info(tasks)").fetchall()
    nullable = {name for _cid, name, _type, notnull, default, _pk in info if not notnull and default is None}
    assert set(_sqlite_statements.OMISSIBLE_COLUMNS) == nullable & set(_sqlite_statements.TASK_COLUMNS)


def test_an_insert_binds_the_columns_some_task_of_the_batch_sets(db_path: str) -> None:
    statements: list[str] = []
    store = SQLiteStore(db_path, trace=statements.append)
    plain, queued = task(1), task(2, queue="crm", max_attempts=3)
    store.add([plain, queued])
    [insert] = {s.partition(") VALUES")[0] for s in statements if s.startswith("INSERT INTO tasks ")}
    assert "queue" in insert and "max_attempts" in insert and "room_id" not in insert and "timeout" not in insert
    assert store.get(plain.id) == plain and store.get(queued.id) == queued
    store.close()


def test_errors_after_opening_are_store_errors_naming_the_path(db_path: str) -> None:
    store = SQLiteStore(db_path, busy_timeout=0.05)
    store.add([task(1)])
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match=r"tasks\.db.*locked"):
            store.claim(["EMAIL"], 1, T0, "node", LEASE)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert len(store.claim(["EMAIL"], 1, T0, "node", LEASE)) == 1
    store.close()
    with pytest.raises(StoreError, match=r"tasks\.db.*closed"):
        store.get("t000001")


# --- several connections and processes --------------------------------------------------------


def test_a_second_connection_sees_writes_and_data_version_moves(db_path: str) -> None:
    reader, writer = SQLiteStore(db_path), SQLiteStore(db_path)
    before = reader.data_version()
    writer.add([task(1)])
    assert reader.data_version() != before
    assert reader.get("t000001") is not None
    reader.close()
    writer.close()


def test_two_connections_claiming_at_once_never_share_a_row(db_path: str) -> None:
    SQLiteStore(db_path).add([task(n) for n in range(400)])
    rounds = threading.Barrier(2)
    results: dict[str, list[Claim]] = {"a": [], "b": []}

    def claim_in_rounds(owner: str) -> None:
        # Both connections call claim at the same moment every round, so each round
        # one of them waits on the other's BEGIN IMMEDIATE.
        store = SQLiteStore(db_path)
        for _ in range(30):
            rounds.wait(10)
            results[owner].extend(store.claim(["EMAIL"], 7, T0, owner, LEASE))
        store.close()

    threads = [threading.Thread(target=claim_in_rounds, args=(owner,)) for owner in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    claimed = [c.task.id for batch in results.values() for c in batch]
    assert len(claimed) == 400 and len(set(claimed)) == 400
    assert len(results["a"]) >= 7 and len(results["b"]) >= 7


def _claim_in_child(db_path: str, owner: str, start: Any, out: Any) -> None:
    store = SQLiteStore(db_path)
    start.wait(30)
    mine: list[str] = []
    while batch := store.claim(["EMAIL"], 5, T0, owner, LEASE):
        mine.extend(c.task.id for c in batch)
        store.finish([Finish(c.task.id, c.token, TaskStatus.SUCCEEDED, result=owner) for c in batch], T0)
    store.close()
    out.put((owner, mine))


def test_two_processes_claiming_at_once_never_share_a_row(db_path: str) -> None:
    store = SQLiteStore(db_path)
    store.add([task(n) for n in range(1_000)])
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(3), ctx.Queue()
    children = [ctx.Process(target=_claim_in_child, args=(db_path, f"child-{i}", start, out))
                for i in range(2)]
    for child in children:
        child.start()
    start.wait(60)
    mine: list[str] = []
    while batch := store.claim(["EMAIL"], 5, T0, "parent", LEASE):
        mine.extend(c.task.id for c in batch)
        store.finish([Finish(c.task.id, c.token, TaskStatus.SUCCEEDED, result="parent") for c in batch], T0)
    theirs: dict[str, list[str]] = dict(out.get(timeout=60) for _ in children)
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    claimed = mine + theirs["child-0"] + theirs["child-1"]
    assert len(claimed) == 1_000 and len(set(claimed)) == 1_000
    assert store.counts()["succeeded"] == 1_000
    owners = {t.id: t.result for t in store.get_many(claimed).values()}
    assert all(owners[task_id] == "parent" for task_id in mine)
    for owner, ids in theirs.items():
        assert all(owners[task_id] == owner for task_id in ids)
    store.close()


# --- query plans ------------------------------------------------------------------------------


def _plans(db_path: str, statements: list[str]) -> list[tuple[str, str]]:
    """(plan detail, statement) for every statement the store ran that reads or writes rows."""
    details: list[tuple[str, str]] = []
    with sqlite3.connect(db_path) as raw:
        for sql in statements:
            if sql.split(None, 1)[0].upper() in ("SELECT", "UPDATE", "DELETE", "WITH", "INSERT"):
                details += [(row[3], sql) for row in raw.execute("EXPLAIN QUERY PLAN " + sql)]
    raw.close()
    return details


def _full_scans(details: list[tuple[str, str]]) -> list[tuple[str, str]]:
    tables = ("SCAN tasks", "SCAN task_tags", "SCAN task_logs")
    return [(d, sql) for d, sql in details if d.startswith(tables) and "COVERING INDEX" not in d]


def test_hot_paths_and_filtered_queries_use_indexes(db_path: str) -> None:
    statements: list[str] = []
    store = SQLiteStore(db_path, trace=statements.append)
    store.add([task(n, name="EMAIL" if n % 2 else "SYNC", tags=["a", "b"] if n % 3 else ["a"],
                    room_id=f"r{n % 4}", world_id="w", entity_id=f"e{n}", idempotency_key=f"k{n}",
                    priority=("high", "normal", "low")[n % 3]) for n in range(60)])
    statements.clear()
    claims = store.claim(["EMAIL", "SYNC"], 10, T0, "node", LEASE)
    store.renew("node", T0 + 1, LEASE)
    store.finish([Finish(c.task.id, c.token, TaskStatus.SUCCEEDED) for c in claims[:5]], T0 + 2)
    store.release([(c.task.id, c.token) for c in claims[5:7]], T0 + 2)
    store.set_progress(claims[8].task.id, claims[8].token, 5.0, T0 + 2)
    store.merge_metadata(claims[8].task.id, claims[8].token, {"x": 1}, T0 + 2)
    store.reclaim_expired(T0 + 100, max_crashes=3)
    store.next_due(["EMAIL", "SYNC"])
    store.next_lease_expiry()
    store.pending_names()
    for query in (TaskQuery(room_id="r1"), TaskQuery(world_id="w"), TaskQuery(entity_id="e3"),
                  TaskQuery(name="SYNC"), TaskQuery(tags=("a", "b")), TaskQuery(status=(TaskStatus.FAILED,)),
                  TaskQuery(name="SYNC", status=(TaskStatus.PENDING,), limit=3)):
        store.query(query)
    store.add([task(999, idempotency_key="k1")])
    store.append_logs([LogRecord("t000001", 1, T0, "INFO", "x")])
    store.logs("t000001")
    store.pause("t000002", T0)
    store.cancel("t000003", T0)
    store.prune(T0 + 1_000)
    store.delete("t000004")
    details = _plans(db_path, statements)
    assert details, statements
    assert _full_scans(details) == []
    claim_plan = [d for d, sql in details if "AND run_at <=" in sql and "tasks" in d]
    # one arm per (tier, name), each an index range tasks_claim covers (no row read for a
    # candidate), then the picked rows by their seq
    arms = [d for d in claim_plan if "tasks_claim" in d]
    assert len(arms) == 6 and all("COVERING INDEX tasks_claim" in d for d in arms), claim_plan
    assert [d for d in claim_plan if d not in arms] == ["SEARCH tasks USING INTEGER PRIMARY KEY (rowid=?)"]
    store.close()


def test_the_claim_range_stops_at_now(db_path: str) -> None:
    statements: list[str] = []
    store = SQLiteStore(db_path, trace=statements.append)
    store.add([task(1)])
    statements.clear()
    store.claim(["EMAIL"], 5, T0, "node", LEASE)
    details = [d for d, _ in _plans(db_path, statements) if "tasks_claim" in d]
    assert len(details) == 3, details  # one index range per priority tier for the one name
    assert all("status=? AND name=? AND priority=? AND run_at<?" in d for d in details), details
    store.close()


def test_a_file_store_checkpoints_its_wal_on_its_own_thread_and_stops_it_on_close(db_path: str) -> None:
    """The writer's automatic checkpoint is only a safety net; a thread keeps the WAL short."""
    import threading

    before = set(threading.enumerate())
    store = SQLiteStore(db_path)
    threads = [t for t in set(threading.enumerate()) - before if t.name == "actors-sqlite-checkpoint"]
    assert len(threads) == 1 and threads[0].is_alive()
    store.add([task(i) for i in range(1, 50)])
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    store.close()
    threads[0].join(timeout=5)
    assert not threads[0].is_alive()


def test_a_writer_waits_for_another_process_lock_in_short_retries_not_sqlite_sleeps(db_path: str) -> None:
    """SQLite's busy handler sleeps 1, 2, 5, 10 ... ms; the store retries BEGIN itself in
    steps from 50 µs, so it takes the lock soon after another process lets it go."""
    statements: list[str] = []
    store = SQLiteStore(db_path, trace=statements.append)
    blocker = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.05, lambda: blocker.execute("ROLLBACK"))
    release.start()
    try:
        statements.clear()
        assert store.add([task(1)]) == ["t000001"]
    finally:
        release.join()
        blocker.close()
        store.close()
    begins = statements.count("BEGIN IMMEDIATE")
    assert begins >= 2, statements[:5]  # retried here, not inside one sleeping SQLite call
    first = statements.index("BEGIN IMMEDIATE")
    assert statements[first - 1] == "PRAGMA busy_timeout = 0"  # SQLite's handler is off meanwhile


def test_a_create_of_one_task_is_three_statements(db_path: str) -> None:
    """One by one, a create is BEGIN, one INSERT (its seq computed inside it), COMMIT: no
    pragma around the transaction, no seq query, no tag insert for an untagged task."""
    statements: list[str] = []
    store = SQLiteStore(db_path, trace=statements.append)
    try:
        store.add([task(1)])  # opens this thread's connection
        statements.clear()
        assert store.add([task(2)]) == ["t000002"]
        assert [s.split(" (")[0] for s in statements] == ["BEGIN IMMEDIATE", "INSERT INTO tasks", "COMMIT"]
        statements.clear()
        store.add([task(3, tags=["a", "b"])])
        assert sum(s.startswith("INSERT OR IGNORE INTO task_tags") for s in statements) == 2
        assert [t.id for t in store.query(TaskQuery(tags=("a",)))] == ["t000003"]
        assert store.counts()["pending"] == 3
    finally:
        store.close()


def test_a_creates_connection_leaves_checkpoints_to_the_checkpoint_thread(db_path: str) -> None:
    """SQLite checkpoints (and fsyncs) inside the COMMIT that crosses ``wal_autocheckpoint``
    pages: a create's own connection has the store's large setting, not SQLite's 1,000."""
    from actors.storage.sqlite.connection import WRITER_AUTOCHECKPOINT

    store = SQLiteStore(db_path)
    try:
        store.add([task(1)])
        creators = store._creators
        assert creators is not None
        with creators.get().read() as conn:
            assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WRITER_AUTOCHECKPOINT
    finally:
        store.close()
