"""The SQLite store's SQL text and shared statements (insert, fetch, untag), and the row
codec (``sql.codec``) re-exported for it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from ...errors import ValidationError
from ...models import PRIORITIES, Task
from .._rules import key_times
from ..sql.codec import (
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
from .schema import FTS_WATERMARK

__all__ = [
    "ALL_STATUSES", "AT_ATTEMPTS", "AT_STATUS", "AT_UPDATED", "CHUNK", "FINISHED", "LEAVE_RUNNING",
    "OMISSIBLE_COLUMNS", "RUNNING_VALUE", "SELECT", "SELECT_SEQ", "TASK_COLUMNS", "IdClash", "chunks",
    "claim_order", "claim_sql", "dumps", "fetch", "fetch_seqs", "insert", "insert_sql", "load", "marks",
    "next_due_sql", "task_row", "to_task", "untag", "update_columns",
]

# --- rows: codec, SQL text and shared statements ------------------------------------

CHUNK = 500  # ids per "IN (...)" list, well under SQLite's variable limit
SELECT = "SELECT " + ", ".join(TASK_COLUMNS) + " FROM tasks"
SELECT_SEQ = "SELECT seq, " + ", ".join(TASK_COLUMNS) + " FROM tasks"
_TOP_SEQ = f"MAX(COALESCE((SELECT MAX(seq) FROM tasks), 0), COALESCE({FTS_WATERMARK}, 0))"
NEXT_SEQ = f"SELECT {_TOP_SEQ}"  # the seq above which new rows are numbered
_QUEUE = "COALESCE(queue, 'default')"
_AT_PRIORITY, _AT_RUN_AT = (1 + TASK_COLUMNS.index(column) for column in ("priority", "run_at"))
LEAVE_RUNNING = "owner = NULL, token = NULL, lease_expires_at = NULL, pause_requested = 0"


#: The ``TASK_COLUMNS`` that are nullable with no DEFAULT: an INSERT that leaves one out stores
#: NULL, as binding None would (a test holds this to the schema).
OMISSIBLE_COLUMNS = ("queue", "room_id", "world_id", "entity_id", "run_at", "update_interval", "progress",
                     "error", "created_at", "updated_at", "finished_at", "max_attempts", "timeout", "retry",
                     "idempotency_key", "idempotency_expires_at", "parent_id", "concurrency_key",
                     "max_iterations", "trace")
_OMISSIBLE = tuple(sorted(TASK_COLUMNS.index(column) for column in OMISSIBLE_COLUMNS))


@lru_cache(maxsize=256)
def _present(absent: tuple[int, ...]) -> tuple[int, ...]:
    """The positions in ``TASK_COLUMNS`` an INSERT binds when those of ``absent`` are NULL in every row."""
    return tuple(at for at in range(len(TASK_COLUMNS)) if at not in absent)


@lru_cache(maxsize=256)
def insert_sql(present: tuple[int, ...], one: bool = False) -> str:
    """The INSERT of ``seq`` and the ``TASK_COLUMNS`` at positions ``present`` (the others: NULL).

    ``one``: the seq computed in the INSERT itself (a create one by one is one statement), else
    bound as the first parameter.
    """
    names = ", ".join(TASK_COLUMNS[at] for at in present)
    return f"INSERT INTO tasks (seq, {names}) VALUES ({_TOP_SEQ + ' + 1' if one else '?'}, {marks(len(present))})"


class IdClash(Exception):
    """An inserted id already exists (raised inside ``add``'s transaction)."""


def chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def marks(count: int) -> str:
    return ", ".join("?" * count)


@lru_cache(maxsize=64)
def claim_sql(name_count: int, only: bool = False, gated: bool = False) -> str:
    # One arm per (tier, name): each is an index range that stops at ``run_at <= now``
    # and comes out in (run_at, seq) order; the ORDER BY merges at most
    # 3 * name_count * limit candidates. The arms pick (seq, priority, run_at) only, which
    # tasks_claim covers, so the merge sorts three numbers per candidate, not whole rows;
    # the picked rows then come back whole (seq first) by their seq, in no set order:
    # the caller puts them in claim order (``claim_order``). No second SELECT.
    # ``only``: one more parameter per arm, the JSON list of the node's queues; ``gated``:
    # two more, the JSON lists of the blocked queues and of the blocked [queue, key]
    # pairs (``_gate``). Without either the SQL is the plain claim.
    extra = f" AND {_QUEUE} IN (SELECT value FROM json_each(?))" if only else ""
    if gated:
        extra += (f" AND {_QUEUE} NOT IN (SELECT value FROM json_each(?)) AND NOT EXISTS (SELECT 1 FROM "
                  f"json_each(?) AS k WHERE json_extract(k.value, '$[0]') = {_QUEUE} "
                  "AND json_extract(k.value, '$[1]') = concurrency_key)")
    arm = ("SELECT * FROM (SELECT seq, priority, run_at FROM tasks WHERE status = 'pending' "
           "AND name = ? AND priority = {rank} AND run_at <= ?" + extra + " ORDER BY run_at, seq LIMIT ?)")
    arms = [arm.format(rank=rank) for rank in range(len(PRIORITIES)) for _ in range(name_count)]
    picked = " UNION ALL ".join(arms) + " ORDER BY priority, run_at, seq LIMIT ?"
    return f"{SELECT_SEQ} WHERE seq IN (SELECT seq FROM ({picked}))"


def claim_order(row: Sequence[Any]) -> tuple[Any, ...]:
    """The sort key of a row selected by ``claim_sql`` (seq first): claim order, i.e.
    priority rank, then ``run_at``, then ``seq`` (creation order)."""
    return row[_AT_PRIORITY], row[_AT_RUN_AT], row[0]


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

    Returns the ids in order, an existing task's id for a used idempotency key (one that has
    not expired at the new task's ``created_at``; an expired key passes to the new task).

    Raises:
        IdClash: an id is already in the table (the caller rolls back and says which).
        ValidationError: the table refused a value.
    """
    # Each key's "now" is the creation time of the first task in the batch that uses it: a row
    # holding the key with ``idempotency_expires_at <= now`` gives it up (key cleared), so the
    # key is free again; an unexpired (or never-expiring) row's id is returned instead.
    keys = key_times(tasks)
    known: dict[str, str] = {}
    for chunk in chunks(list(keys)):
        for key, task_id, expires in conn.execute(
                "SELECT idempotency_key, id, idempotency_expires_at FROM tasks "
                f"WHERE idempotency_key IN ({marks(len(chunk))})", chunk).fetchall():
            if expires is not None and expires <= keys[key]:
                conn.execute("UPDATE tasks SET idempotency_key = NULL, idempotency_expires_at = NULL "
                             "WHERE id = ?", (task_id,))
            else:
                known[key] = task_id
    out: list[str] = [task.id for task in tasks]
    kept, fresh = tasks, rows
    if keys:  # a task whose key is taken (in the table or earlier in the batch) is not inserted
        kept, fresh = [], []
        for at, (task, row) in enumerate(zip(tasks, rows, strict=True)):
            key = task.idempotency_key
            if key is not None and key in known:
                out[at] = known[key]
                continue
            if key is not None:
                known[key] = task.id
            kept.append(task)
            fresh.append(row)
    if not fresh:
        return out
    # Column by column, the NULL columns left out (SQLite binds a None far slower than a value:
    # most of a new task's 35 are None, and leaving them out was most of the insert's cost).
    # We hold the write lock, so the next seq values are ours to hand out: above every row
    # and above the search index's watermark (a seq freed by deleting the newest rows is
    # not handed out again while the index may still count it as indexed).
    try:
        if len(fresh) == 1:  # seq is the rowid
            row = fresh[0]
            present = _present(tuple(at for at in _OMISSIBLE if row[at] is None))
            seqs: Sequence[int | None] = [
                conn.execute(insert_sql(present, True), [row[at] for at in present]).lastrowid]
        else:
            columns = list(zip(*fresh, strict=True))
            present = _present(tuple(at for at in _OMISSIBLE if columns[at].count(None) == len(fresh)))
            first = conn.execute(NEXT_SEQ).fetchone()[0] + 1
            seqs = range(first, first + len(fresh))
            conn.executemany(insert_sql(present), zip(seqs, *(columns[at] for at in present), strict=True))
    except sqlite3.IntegrityError as exc:
        if "tasks.id" in str(exc):
            raise IdClash from None
        column = str(exc).rpartition(".")[2]  # e.g. "NOT NULL constraint failed: tasks.name"
        raise ValidationError(column, None, f"refused by the task table: {exc}") from None
    tag_rows = [(tag, seq) for seq, task in zip(seqs, kept, strict=True) for tag in task.tags]
    if tag_rows:
        conn.executemany("INSERT OR IGNORE INTO task_tags (tag, task_seq) VALUES (?, ?)", tag_rows)
    return out


def untag(conn: sqlite3.Connection, rows: Iterable[tuple[int, str]]) -> None:
    """Delete the task_tags rows of (seq, tags JSON) pairs, one key lookup per tag."""
    conn.executemany("DELETE FROM task_tags WHERE tag = ? AND task_seq = ?",
                     [(tag, seq) for seq, tags in rows for tag in json.loads(tags)])

