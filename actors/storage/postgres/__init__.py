"""The PostgreSQL task store: ``PostgresStore``, for several nodes sharing one database.

Modules: ``store`` (the class: connecting, creating, reading, changing, user transitions),
``attempts`` (claims and attempt ends), ``maintenance`` (reclaim, due times, prune, counts),
``schema`` (tables, migrations, connection descriptions), ``listen`` (LISTEN/NOTIFY wake-ups).
The only package that imports ``psycopg``. Nothing here imports pykka.
"""

from .store import PostgresStore

__all__ = ["PostgresStore"]
