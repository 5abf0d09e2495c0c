"""The SQLite store's lazy full-text index: creates never write it, a search brings it up to
date first (in chunks), and changes to rows it does not hold yet never reach it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from actors.models import Task, TaskStatus
from actors.spec import TaskSpec, build_task
from actors.storage.base import ClaimRequest
from actors.storage.sqlite import SQLiteStore
from actors.storage.sqlite import search as sqlite_search

T0 = 1_700_000_000.0


def task(n: int, **spec: Any) -> Task:
    spec.setdefault("name", "EMAIL")
    spec.setdefault("description", f"weekly digest {n}")
    return build_task(TaskSpec(**spec), task_id=f"t{n:06d}", now=T0)


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "tasks.db")


def _index(db_path: str) -> tuple[list[Any], list[int], int]:
    """The FTS5 shadow tables as another connection sees them: every b-tree record, the seqs
    of the indexed documents, and the index's own count of documents (the first varint of
    its averages record, which a 'delete' of a row it does not hold drives wrong)."""
    with sqlite3.connect(db_path) as raw:
        data = raw.execute("SELECT id, block FROM tasks_fts_data ORDER BY id").fetchall()
        docs = [row[0] for row in raw.execute("SELECT id FROM tasks_fts_docsize ORDER BY id")]
    raw.close()
    block = dict(data)[1]
    total = 0
    for byte in block[:8]:  # an SQLite varint, 7 bits a byte, high bit: more follow
        total = (total << 7) | (byte & 0x7F)
        if byte < 0x80:
            break
    return data, docs, total


def _seqs(db_path: str) -> list[int]:
    with sqlite3.connect(db_path) as raw:
        seqs = [row[0] for row in raw.execute("SELECT seq FROM tasks ORDER BY seq")]
    raw.close()
    return seqs


def test_creating_tasks_never_writes_the_search_index(db_path: str) -> None:
    store = SQLiteStore(db_path)
    empty = _index(db_path)
    store.add([task(1)])
    store.add([task(2)])
    store.add([task(n) for n in range(3, 8)])
    store.add_and_claim([task(8)], T0, ClaimRequest(("EMAIL",), 1, "node", 30.0))
    assert _index(db_path) == empty  # not a byte of the index changed
    assert [t.id for t in store.search("digest", limit=2)] == ["t000001", "t000002"]
    indexed = _index(db_path)
    assert indexed[1] == _seqs(db_path) and indexed[2] == 8
    store.add([task(n) for n in range(9, 12)])
    assert _index(db_path) == indexed  # until the next search
    assert len(store.search("digest")) == 11
    assert _index(db_path)[1] == _seqs(db_path)
    store.close()


def test_changes_to_rows_not_yet_indexed_never_reach_the_index(db_path: str) -> None:
    """Updates and deletes of a row above the watermark send nothing to FTS5 (a 'delete'
    of a row it does not hold corrupts an external-content index); indexed rows follow."""
    store = SQLiteStore(db_path)
    store.add([task(1), task(2, tags=["keep"])])
    assert len(store.search("digest")) == 2  # t1, t2 indexed
    store.add([task(n) for n in range(3, 7)])  # t3..t6 not yet
    for n in range(3, 7):
        store.update(f"t{n:06d}", {"description": f"monthly report {n}", "tags": ["moved"]}, T0 + 1)
    assert store.delete("t000003") and store.delete("t000006")
    [claim] = store.claim(["EMAIL"], 1, T0, "node", 30.0)
    store.cancel("t000004", T0 + 1)
    assert store.prune(T0 + 2) == 1  # t4, never indexed
    store.update("t000001", {"description": "renamed"}, T0 + 1)  # indexed: follows
    assert _index(db_path)[2] == 2  # the index still counts the two rows it holds
    assert [t.id for t in store.search("monthly moved")] == ["t000005"]
    assert [t.id for t in store.search("digest")] == ["t000002"]
    assert [t.id for t in store.search("renamed")] == ["t000001"]
    _, docs, total = _index(db_path)
    assert docs == _seqs(db_path) and total == len(docs) == 3
    assert claim.task.status is TaskStatus.RUNNING
    store.close()


def test_a_search_indexes_a_backlog_one_chunk_per_transaction(db_path: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_search, "CATCH_UP_ROWS", 3)
    store = SQLiteStore(db_path)
    store.add([task(n) for n in range(1, 11)])
    statements: list[str] = []
    tracing = SQLiteStore(db_path, trace=statements.append)
    statements.clear()
    assert len(tracing.search("digest")) == 10
    assert statements.count("BEGIN IMMEDIATE") == 4  # 3 + 3 + 3 + 1 rows
    statements.clear()
    assert len(tracing.search("weekly")) == 10
    assert "BEGIN IMMEDIATE" not in statements  # nothing new: the search only reads
    tracing.close()
    store.close()


def test_a_search_indexes_rows_another_connection_created(db_path: str) -> None:
    writer, reader = SQLiteStore(db_path), SQLiteStore(db_path)
    writer.add([task(1)])
    assert [t.id for t in reader.search("digest")] == ["t000001"]
    writer.add([task(2)])
    assert [t.id for t in writer.search("digest")] == ["t000001", "t000002"]
    writer.add([task(3)])
    assert [t.id for t in reader.search("digest")] == ["t000001", "t000002", "t000003"]
    assert _index(db_path)[1] == [1, 2, 3]
    writer.close()
    reader.close()
