"""How the supervisor's store operations are doing, and when a failed one is tried again.

Pure bookkeeping (no store, no thread): the supervisor actor reports each operation's
success or failure with the node's clock time; :class:`Health` answers whether an
operation may be tried now (``ready``), when the earliest retry is due
(``next_retry``, what the scheduler is woken for), and what ``stats()["health"]["ops"]``
shows. A burst of failures is logged once, when it starts, and once when it ends.

Back-off: the first retry ``base`` seconds after a failure, doubling with each
consecutive failure up to ``cap`` (0.05 s, 0.1 s, ... 2 s).

Example:
    >>> health = Health(base=0.05, cap=2.0)
    >>> health.failed("claim", RuntimeError("locked"), now=10.0)
    10.05
    >>> health.ready("claim", 10.01), health.ready("claim", 10.05)
    (False, True)
    >>> health.succeeded("claim", now=10.1)
    >>> health.as_dict()["claim"]["ok"]
    True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

__all__ = ["Health", "OpHealth", "backoff"]

log = logging.getLogger("actors")


def backoff(failures: int, base: float = 0.05, cap: float = 2.0) -> float:
    """Seconds to wait after ``failures`` consecutive failures (``failures >= 1``)."""
    return min(cap, base * 2.0 ** max(0, failures - 1))


@dataclass
class OpHealth:
    """One operation: ok or failing, for how long, and when it is tried again."""

    ok: bool = True
    failures: int = 0  # consecutive
    total_failures: int = 0
    last_error: str | None = None
    since: float | None = None  # when it last became ok or failing
    retry_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "failures": self.failures, "total_failures": self.total_failures,
                "last_error": self.last_error, "since": self.since, "retry_at": self.retry_at}


class Health:
    """Health of named operations (``claim``, ``finish``, ``release``, ``wake``, ...).

    Args:
        base: seconds before the first retry of a failed operation.
        cap: the longest wait between two retries.
    """

    def __init__(self, *, base: float = 0.05, cap: float = 2.0) -> None:
        self._base = base
        self._cap = cap
        self.ops: dict[str, OpHealth] = {}

    def failed(self, op: str, exc: BaseException, now: float) -> float:
        """Record a failure of ``op`` at ``now``; returns when it may be tried again.
        Logs a warning only for the first failure of a burst."""
        health = self.ops.setdefault(op, OpHealth())
        if health.ok:
            health.since = now
            log.warning("store operation %r failing: %s: %s (retried with back-off; logged again when it "
                        "recovers)", op, type(exc).__name__, exc)
        health.ok = False
        health.failures += 1
        health.total_failures += 1
        health.last_error = f"{type(exc).__name__}: {exc}"
        health.retry_at = now + backoff(health.failures, self._base, self._cap)
        return health.retry_at

    def succeeded(self, op: str, now: float) -> None:
        """Record a success of ``op``: a failing burst ends (logged once)."""
        health = self.ops.get(op)
        if health is None:
            self.ops[op] = OpHealth(since=now)
            return
        if not health.ok:
            log.warning("store operation %r recovered after %d failure(s) in %.2fs", op, health.failures,
                        now - (health.since if health.since is not None else now))
            health.ok, health.failures, health.retry_at, health.since = True, 0, None, now

    def ready(self, op: str, now: float) -> bool:
        """True when ``op`` may be tried at ``now``: it is ok, or its back-off is over."""
        health = self.ops.get(op)
        return health is None or health.ok or health.retry_at is None or now >= health.retry_at

    def failing(self, op: str) -> bool:
        """True while ``op`` is in a burst of failures."""
        health = self.ops.get(op)
        return health is not None and not health.ok

    def next_retry(self) -> float | None:
        """The earliest retry time of a failing operation (None: every operation is ok)."""
        times = [h.retry_at for h in self.ops.values() if not h.ok and h.retry_at is not None]
        return min(times) if times else None

    @property
    def ok(self) -> bool:
        return all(health.ok for health in self.ops.values())

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {op: health.as_dict() for op, health in sorted(self.ops.items())}

