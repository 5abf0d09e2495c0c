"""Fixtures shared by the integration tests: a SQLite file, and a node on it with one process
worker and short leases (a test module may define its own of the same name)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import actors


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "tasks.db")


@pytest.fixture
def sup(db: str) -> Iterator[actors.Supervisor]:
    node = actors.Supervisor.start(db, workers=1, lease_ttl=2.0, kill_grace=0.3, abort_grace=0.5)
    yield node
    node.stop(timeout=5)
