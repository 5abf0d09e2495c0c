"""Helpers for tests of code that uses actors: a manual clock, an inline node, bounded waits.

Unit tests run tasks inline (in the worker actor's thread, no child process) on
the in-memory store with a :class:`ManualClock`; time moves only when the test
moves it and calls ``sup.tick()``. Waiting is always bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from .clock import ManualClock
from .errors import Timeout
from .system import Supervisor

__all__ = ["ManualClock", "eventually", "inline_supervisor"]

T = TypeVar("T")


def inline_supervisor(store: Any = "memory://", *, clock: ManualClock | None = None,
                      workers: int = 1, **options: Any) -> Supervisor:
    """A node that runs tasks inline on ``store`` with a manual clock (no scheduler thread)."""
    return Supervisor.start(store, workers=workers, executor="inline",
                            clock=clock or ManualClock(), **options)


def eventually(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.01) -> T:
    """Call ``predicate`` until it returns something truthy; return that.

    For integration tests that watch another process. Bounded: raises
    ``actors.Timeout`` after ``timeout`` seconds, naming the last value seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Timeout(f"condition still false after {timeout}s (last value: {value!r})")
        time.sleep(interval)
