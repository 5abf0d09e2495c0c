"""Fixtures shared by the unit tests: a manual clock, and an inline node on it (memory store,
inline executor: tasks run in the worker actor's thread, nothing sleeps)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import actors
from actors import ManualClock
from actors.testing import inline_supervisor

#: The manual clock's start (epoch seconds).
START = 1_700_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sup(clock: ManualClock) -> Iterator[actors.Supervisor]:
    node = inline_supervisor(clock=clock, lease_ttl=30.0)
    yield node
    node.stop()
