"""Time is an argument: one ``Clock`` protocol, a system clock and a manual one.

Everything that schedules reads the time from a clock handed to it; nothing else
calls ``time.time()``. Times are float seconds since the epoch (UTC); the public
API turns them into aware ``datetime`` values at its edge.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol, overload

__all__ = ["Clock", "ManualClock", "SystemClock", "from_timestamp", "to_timestamp"]


class Clock(Protocol):
    """Where the runtime reads the time."""

    def now(self) -> float:
        """Seconds since the epoch, UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to (tests, simulations).

    Example:
        >>> clock = ManualClock(1_000.0)
        >>> clock.advance(30)
        1030.0
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError(f"seconds={seconds!r}: a clock cannot go back")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        """Jump to ``now`` (never backwards)."""
        with self._lock:
            if now < self._now:
                raise ValueError(f"now={now!r}: a clock cannot go back")
            self._now = float(now)


@overload
def from_timestamp(ts: float) -> datetime: ...
@overload
def from_timestamp(ts: None) -> None: ...
@overload
def from_timestamp(ts: float | None) -> datetime | None: ...
def from_timestamp(ts: float | None) -> datetime | None:
    """An aware UTC datetime from epoch seconds (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


def to_timestamp(value: datetime) -> float:
    """Epoch seconds from a datetime; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()
