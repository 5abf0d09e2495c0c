"""Bad store settings are refused with ``ValidationError`` naming the field (never a bare ValueError).

These checks run before any connection is made, so no PostgreSQL server is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import actors
from actors.errors import ValidationError
from actors.storage.sqlite import SQLiteStore

pytest.importorskip("psycopg")


def test_sqlite_store_refuses_a_bad_synchronous_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        SQLiteStore(str(tmp_path / "t.db"), synchronous="SOMETIMES")
    assert info.value.field == "synchronous"
    assert info.value.value == "SOMETIMES"
    assert not (tmp_path / "t.db").exists()


@pytest.mark.parametrize(("field", "value"), [
    ("pool_size", 0), ("pool_size", 1.5), ("connect_timeout", 0), ("connect_timeout", -1.0),
    ("connect_timeout", "soon"), ("schema", "Bad-Name"), ("schema", "x; DROP TABLE tasks"),
])
def test_postgres_store_refuses_bad_settings_naming_them(field: str, value: object) -> None:
    from actors.storage.postgres import PostgresStore

    with pytest.raises(ValidationError) as info:
        PostgresStore("host=127.0.0.1 port=1 dbname=none", **{field: value})  # type: ignore[arg-type]
    assert info.value.field == field
    assert info.value.value == value


def test_a_bad_schema_in_the_store_url_is_a_validation_error_from_supervisor_start() -> None:
    with pytest.raises(ValidationError) as info:
        actors.Supervisor.start("postgresql://postgres@127.0.0.1:1/none?schema=Not-OK", workers=0)
    assert info.value.field == "schema"
    assert info.value.value == "Not-OK"
