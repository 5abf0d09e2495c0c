"""The ``store`` fixture: every contract test runs once per ``TaskStore`` implementation.

Adding a store is one entry in ``STORE_FACTORIES``. PostgreSQL reads its DSN from
``ACTORS_TEST_POSTGRES_DSN`` and is skipped when the server does not answer,
unless ``ACTORS_REQUIRE_POSTGRES=1`` (CI), where an unreachable server fails.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.errors import StoreError
from actors.models import Task
from actors.spec import SPEC_FIELDS, TaskSpec, build_task
from actors.storage.base import TaskStore
from actors.storage.memory import MemoryStore
from actors.storage.sqlite import SQLiteStore

#: The time most contract tests call "now" (epoch seconds).
T0 = 1_700_000_000.0

DEFAULT_POSTGRES_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"

_ids = itertools.count(1)


def make_task(**overrides: Any) -> Task:
    """A realistic PENDING task built by ``build_task``, then adjusted.

    Keyword names of ``TaskSpec`` (``name``, ``tags``, ``priority``, ``delay``, ...)
    go through validation as ``create_task`` would; ``now`` (default ``T0``) is
    the creation time; any other ``Task`` field (``status``, ``attempts``, ...)
    is set on the result with ``dataclasses.replace``.
    """
    now = float(overrides.pop("now", T0))
    task_id = str(overrides.pop("id", f"task-{next(_ids):06d}"))
    spec_args = {key: overrides.pop(key) for key in list(overrides) if key in SPEC_FIELDS}
    spec_args.setdefault("name", "EMAIL")
    task = build_task(TaskSpec(**spec_args), task_id=task_id, now=now)
    return dataclasses.replace(task, **overrides) if overrides else task


@pytest.fixture(name="make_task")
def _make_task_fixture() -> Callable[..., Task]:
    return make_task


def _memory(tmp_path: Path) -> TaskStore:
    return MemoryStore()


def _sqlite(tmp_path: Path) -> TaskStore:
    return SQLiteStore(str(tmp_path / "tasks.db"))


def _postgres(tmp_path: Path) -> TaskStore:
    # Skipped when psycopg is not installed or the server does not answer, unless
    # ACTORS_REQUIRE_POSTGRES=1 (CI), where either fails the test.
    required = os.environ.get("ACTORS_REQUIRE_POSTGRES") == "1"
    try:
        module = importlib.import_module("actors.storage.postgres")
    except ModuleNotFoundError as exc:
        if required or exc.name not in ("psycopg", "psycopg_pool"):
            raise
        pytest.skip(f"the PostgreSQL store needs {exc.name} (pip install 'actors[postgres]')")
    dsn = os.environ.get("ACTORS_TEST_POSTGRES_DSN", DEFAULT_POSTGRES_DSN)
    try:
        store: TaskStore = module.PostgresStore(dsn)
    except StoreError as exc:
        reason = f"PostgreSQL at {dsn!r} does not answer: {exc}"
        if required:
            pytest.fail(f"{reason} (ACTORS_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    # Each test needs an empty table; the store's own test hook provides it.
    reset = getattr(store, "reset_for_tests", None)
    if reset is None:
        store.close()
        pytest.fail("PostgresStore needs a reset_for_tests() method so contract tests start empty")
    reset()
    return store


STORE_FACTORIES: dict[str, Callable[[Path], TaskStore]] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "postgres": _postgres,
}


@pytest.fixture(params=[
    pytest.param(name, marks=[pytest.mark.postgres] if name == "postgres" else [])
    for name in STORE_FACTORIES
])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TaskStore]:
    """An empty store of each kind, closed after the test."""
    instance = STORE_FACTORIES[request.param](tmp_path)
    yield instance
    instance.close()
