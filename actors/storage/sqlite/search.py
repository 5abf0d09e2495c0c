"""Full-text search of the SQLite store: the FTS5 index ``tasks_fts`` (made by migration 4
with sqlite-utils ``enable_fts``, kept in step with ``tasks`` by triggers), queried through
sqlite-utils ``Table.search`` on the store's own connection. sqlite-utils is imported only
when a search runs (``schema.database``)."""

from __future__ import annotations

import sqlite3

from ...models import Task
from ..sql.codec import TASK_COLUMNS, to_task
from .schema import database

__all__ = ["search_tasks"]


def search_tasks(conn: sqlite3.Connection, words: list[str], limit: int | None) -> list[Task]:
    """Tasks whose indexed text holds every one of ``words`` (letters and digits only, so
    each is quoted as one FTS5 string), in creation order (rowid = seq), at most ``limit``."""
    query = " ".join(f'"{word}"' for word in words)
    rows = database(conn).table("tasks").search(query, columns=list(TASK_COLUMNS),
                                                order_by='"original".rowid', limit=limit)
    return [to_task([row[column] for column in TASK_COLUMNS]) for row in rows]
