"""Integration fixtures: ``store_url``, one test's store as node processes name it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import postgres_dsn_or_skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An SQLite file in ``tmp_path``, then a fresh PostgreSQL schema (a ``postgresql://...?schema=``
    URL, dropped after the test; skipped without a server unless ``ACTORS_REQUIRE_POSTGRES=1``)."""
    if request.param == "sqlite":
        yield str(tmp_path / "tasks.db")
        return
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    dsn = postgres_dsn_or_skip()
    schema = f"actors_it_{uuid.uuid4().hex[:10]}"
    info = conninfo_to_dict(dsn)
    yield (f"postgresql://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:{info.get('port', '5432')}"
           f"/{info.get('dbname', 'postgres')}?schema={schema}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
