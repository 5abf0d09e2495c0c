"""Full-text search of the SQLite store: the FTS5 index ``tasks_fts`` (made by migration 4
with sqlite-utils ``enable_fts``), queried through sqlite-utils ``Table.search`` on the
store's own connection. sqlite-utils is imported only when a search runs (``schema.database``).

The index is filled lazily, so creating a task never writes it: rows up to the watermark
(``schema.FTS_INDEXED`` in ``actors_meta``) are indexed and kept in step by the delete and
update triggers; a search first indexes the rows above it (``catch_up``, in chunks of
``CATCH_UP_ROWS`` rows, one write transaction each), then queries."""

from __future__ import annotations

import sqlite3

from ...models import Task
from ..sql.codec import TASK_COLUMNS, to_task
from .schema import FTS_COLUMNS, FTS_INDEXED, FTS_WATERMARK, database

__all__ = ["CATCH_UP_ROWS", "behind", "catch_up", "search_tasks"]

#: Rows indexed per write transaction (a catch-up after a large backlog holds the write
#: lock for one chunk at a time, so creates from other connections interleave).
CATCH_UP_ROWS = 5_000

_COLUMNS = ", ".join(FTS_COLUMNS)


def behind(conn: sqlite3.Connection) -> bool:
    """Whether some row is above the watermark (a read: no lock taken when there is none)."""
    return bool(conn.execute(f"SELECT EXISTS (SELECT 1 FROM tasks WHERE seq > {FTS_WATERMARK})").fetchone()[0])


def catch_up(conn: sqlite3.Connection) -> bool:
    """Inside the caller's write transaction: index the next ``CATCH_UP_ROWS`` rows above
    the watermark, in seq order, and move the watermark to the last of them. Returns whether
    rows remain above it (another chunk is due)."""
    mark = conn.execute(f"SELECT COALESCE({FTS_WATERMARK}, 0)").fetchone()[0]
    top = conn.execute("SELECT MAX(seq) FROM (SELECT seq FROM tasks WHERE seq > ? ORDER BY seq LIMIT ?)",
                       (mark, CATCH_UP_ROWS)).fetchone()[0]
    if top is None:
        return False
    conn.execute(f"INSERT INTO tasks_fts (rowid, {_COLUMNS}) SELECT seq, {_COLUMNS} FROM tasks "
                 "WHERE seq > ? AND seq <= ?", (mark, top))
    conn.execute("INSERT INTO actors_meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (FTS_INDEXED, str(top)))
    return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM tasks WHERE seq > ?)", (top,)).fetchone()[0])


def search_tasks(conn: sqlite3.Connection, words: list[str], limit: int | None) -> list[Task]:
    """Tasks whose indexed text holds every one of ``words`` (letters and digits only, so
    each is quoted as one FTS5 string), in creation order (rowid = seq), at most ``limit``.
    Only indexed rows are found: the caller runs ``catch_up`` first."""
    query = " ".join(f'"{word}"' for word in words)
    rows = database(conn).table("tasks").search(query, columns=list(TASK_COLUMNS),
                                                order_by='"original".rowid', limit=limit)
    return [to_task([row[column] for column in TASK_COLUMNS]) for row in rows]
