"""The queue limits a claim obeys, decided in one place for every store. Pure.

A store reads, inside its claim transaction, the settings of the queues that restrict
claims (``QueueInfo.limited``), the RUNNING tasks per queue and per (queue, key), and the
attempt starts per rate-limited queue still inside its period; a :class:`Gate` over them
says which queues and keys can take nothing (``blocked``, ``blocked_keys``: the store
leaves them out of its claim query) and admits the candidate rows one by one in claim
order (``admit``), counting what it admits. :func:`gated` runs that loop over a store's
fetch. A queue with no row, or a row with no limit, is never looked at.

The rules:

- ``paused``: admits nothing;
- ``concurrency``: RUNNING of the queue (every node) + admitted < the limit;
- ``key_concurrency``: the same per ``concurrency_key`` inside the queue (a task without a
  key is not limited by it);
- ``rate_limit (N, period)``: fewer than N starts in ``(now - period, now]``; so no
  window ``[t, t + period)`` ever holds more than N starts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from ..models import QueueInfo

__all__ = ["Gate", "changed", "gated", "listing", "queue_of"]

R = TypeVar("R")
DEFAULT = "default"  # (base.DEFAULT_QUEUE: base imports models only through this package)


def queue_of(queue: str | None) -> str:
    """The queue a task with ``queue`` runs in (None: ``"default"``)."""
    return queue or DEFAULT


class Gate:
    """The limits of one claim (see the module docstring).

    Args:
        limited: the settings of every queue that restricts claims, by name.
        running: RUNNING tasks per (queue, concurrency_key) of those queues.
        starts: per rate-limited queue, the start times still inside its period.
        now: the claim's time.
    """

    def __init__(self, limited: Mapping[str, QueueInfo], running: Iterable[tuple[str, str | None, int]],
                 starts: Mapping[str, Sequence[float]], now: float) -> None:
        self._limited = limited
        self._now = now
        self.running: dict[str, int] = defaultdict(int)
        self.keyed: dict[tuple[str, str], int] = defaultdict(int)
        for queue, key, count in running:
            self.running[queue] += count
            if key is not None:
                self.keyed[queue, key] += count
        self.started: dict[str, int] = {}
        for queue, info in limited.items():
            if info.rate_limit is not None:
                since = now - info.rate_limit[1]
                self.started[queue] = sum(1 for at in starts.get(queue, ()) if since < at <= now)
        self.admitted: list[str] = []  # the queue of each admitted row, in order
        self.held = False  # a limit kept a queue or key out of the claim, or refused a row

    def _full(self, queue: str) -> bool:
        info = self._limited.get(queue)
        if info is None:
            return False
        return (info.paused or (info.concurrency is not None and self.running[queue] >= info.concurrency)
                or (info.rate_limit is not None and self.started[queue] >= info.rate_limit[0]))

    def blocked(self) -> list[str]:
        """The queues that can take nothing more now."""
        return sorted(queue for queue in self._limited if self._full(queue))

    def blocked_keys(self) -> list[tuple[str, str]]:
        """The (queue, key) pairs at their ``key_concurrency``."""
        out = []
        for (queue, key), count in self.keyed.items():
            limit = self._limited[queue].key_concurrency if queue in self._limited else None
            if limit is not None and count >= limit:
                out.append((queue, key))
        return sorted(out)

    def admit(self, queue: str, key: str | None) -> bool:
        """Whether a row of ``queue`` with ``key`` may start now; counts it if so."""
        if self._full(queue):
            return False
        info = self._limited.get(queue)
        if info is not None:
            if key is not None and info.key_concurrency is not None and self.keyed[queue, key] >= info.key_concurrency:
                return False
            if key is not None:
                self.keyed[queue, key] += 1
            if info.rate_limit is not None:
                self.started[queue] += 1
        self.running[queue] += 1
        self.admitted.append(queue)
        return True

    def rated(self) -> list[str]:
        """The queue of each admitted row whose queue has a rate limit (its start is recorded)."""
        return [queue for queue in self.admitted
                if queue in self._limited and self._limited[queue].rate_limit is not None]


def gated(fetch: Callable[[int, list[str], list[tuple[str, str]]], Sequence[R]], limit: int, gate: Gate,
          key: Callable[[R], tuple[object, str, str | None]]) -> list[R]:
    """Up to ``limit`` rows the gate admits, in claim order.

    ``fetch(size, blocked, blocked_keys)`` returns up to ``size`` due rows in claim order,
    none of a blocked queue or key; ``key(row)`` is ``(identity, queue, concurrency_key)``.
    A fetch is repeated only after the gate refused a row (a queue or key filled during
    this claim: it is blocked in the next fetch), so the loop ends.
    """
    taken: list[R] = []
    seen: set[object] = set()  # admitted or refused
    while len(taken) < limit:
        size = limit + len(seen)
        blocked, blocked_keys = gate.blocked(), gate.blocked_keys()
        gate.held = gate.held or bool(blocked or blocked_keys)
        rows = fetch(size, blocked, blocked_keys)
        refused = fresh = False
        for row in rows:
            ident, queue, concurrency_key = key(row)
            if ident in seen:
                continue
            if len(taken) == limit:
                break
            fresh = True
            seen.add(ident)
            if gate.admit(queue, concurrency_key):
                taken.append(row)
            else:
                refused = gate.held = True
        if not refused or not fresh:
            break
    return taken


def changed(name: str, current: QueueInfo | None, changes: Mapping[str, object]) -> QueueInfo:
    """The settings of ``name`` after ``set_queue`` (``changes`` checked by
    ``spec.queues.check_queue_changes``: a field not given keeps its value)."""
    base = current or QueueInfo(name)
    return QueueInfo(name, **{field: changes.get(field, getattr(base, field))  # type: ignore[arg-type]
                              for field in ("concurrency", "key_concurrency", "rate_limit", "paused")})


def listing(settings: Iterable[QueueInfo], counts: Mapping[str, Mapping[str, int]]) -> list[QueueInfo]:
    """Every declared queue and every queue with tasks, by name, with its counts by status."""
    declared = {info.name: info for info in settings}
    out = []
    for name in sorted(set(declared) | set(counts)):
        info = declared.get(name) or QueueInfo(name)
        by_status = dict(counts.get(name, {}))
        out.append(QueueInfo(name, info.concurrency, info.key_concurrency, info.rate_limit, info.paused,
                             by_status, by_status.get("running", 0)))
    return out
