"""The SQLite task store (the default): ``SQLiteStore`` over one file shared by processes.

Modules: ``store`` (the class: creating, reading, changing, user transitions), ``attempts``
(claims and attempt ends), ``maintenance`` (reclaim, due times, prune, counts),
``statements`` (SQL text), ``connection`` (opening, the guarded connection, checkpoints),
``schema`` (tables and migrations, with sqlite-utils), ``search`` (full-text search),
``wake`` (wake-ups between processes). Nothing here imports pykka.
"""

from .store import SQLiteStore

__all__ = ["SQLiteStore"]
