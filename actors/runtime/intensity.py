"""Restart intensity (Erlang/OTP): more than ``max_restarts`` restarts within ``within`` seconds
and the supervisor gives up (it stops its children and the node, saying why).

Pure: the caller passes the clock time of each restart.

Example:
    >>> limit = RestartIntensity(max_restarts=2, within=10.0)
    >>> limit.allow(0.0), limit.allow(1.0), limit.allow(2.0)
    (True, True, False)
    >>> limit.allow(20.0)  # the old restarts are out of the window
    True
"""

from __future__ import annotations

from collections import deque

__all__ = ["RestartIntensity"]


class RestartIntensity:
    """Counts restarts in a sliding window.

    Args:
        max_restarts: restarts allowed within the window (0: none).
        within: the window, in seconds.
    """

    def __init__(self, max_restarts: int = 5, within: float = 10.0) -> None:
        self.max_restarts = max_restarts
        self.within = within
        self._times: deque[float] = deque()
        self.total = 0

    def allow(self, now: float) -> bool:
        """Record a restart at ``now``; False when it is one too many (the supervisor gives up)."""
        while self._times and self._times[0] <= now - self.within:
            self._times.popleft()
        self._times.append(now)
        self.total += 1
        return len(self._times) <= self.max_restarts

    def recent(self, now: float) -> int:
        """Restarts within the window ending at ``now``."""
        return sum(1 for when in self._times if when > now - self.within)
