"""``eventually``: a bounded wait on a condition, for tests that watch another thread or process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import Timeout

__all__ = ["eventually"]

T = TypeVar("T")


def eventually(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.01) -> T:
    """Call ``predicate`` until it returns something truthy; return that.

    For integration tests that watch another process. Bounded: raises
    ``actors.Timeout`` after ``timeout`` seconds, naming the last value seen.

    Example:
        >>> eventually(lambda: 42)
        42
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Timeout(f"condition still false after {timeout}s (last value: {value!r})")
        time.sleep(interval)
