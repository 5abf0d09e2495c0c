"""Three FIFO tiers — high, normal, low — behind one lock.

What runs next: every ``high`` item before any ``normal`` one, every ``normal``
before any ``low``, first-in first-out inside a tier. Unbounded by default; a
``max_size`` with an ``on_pressure`` policy makes it bounded (ELIZA_SPEC §3).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, Literal, TypedDict, TypeVar

from ..errors import ValidationError

__all__ = ["PRIORITIES", "Priority", "PriorityQueue", "QueueStats"]

T = TypeVar("T")

Priority = Literal["high", "normal", "low"]

#: The three tiers, highest first.
PRIORITIES: tuple[Priority, ...] = ("high", "normal", "low")

logger = logging.getLogger("actors.batch")

_INVALID_PRIORITY = 'Invalid queue priority %r; expected "high" | "normal" | "low". Treating as normal.'


class QueueStats(TypedDict):
    """Item counts per tier, and in all."""

    high: int
    normal: int
    low: int
    total: int


def _everything_normal(item: object) -> str:
    return "normal"


class PriorityQueue(Generic[T]):
    """An in-memory queue with three FIFO priority tiers.

    ``get_priority(item)`` is called once, when the item is enqueued; the item stays
    in that tier even if its priority changes later. A value other than ``"high"``,
    ``"normal"`` or ``"low"`` is stored as normal, and the first such value per
    queue instance logs one warning on the ``actors.batch`` logger.

    Capacity: unbounded unless ``max_size`` is given. When an enqueue finds
    ``size >= max_size`` (so ``max_size=0`` means pressure on the very first
    enqueue):

    - ``on_pressure(queue, item)`` returns false: the item is rejected,
      ``enqueue`` returns False, no warning.
    - it returns true: the item is inserted; if the queue is *still* at or over
      ``max_size`` (the handler made no room), ``on_overflow_warning(size + 1,
      max_size)`` is called first. The seed's merged copy (@20f70eca) omits this
      warning; we keep it, as ``priority-queue.ts`` @37675c59 does.
    - no ``on_pressure``: ``on_overflow_warning`` (if given), then insert — the
      queue grows past ``max_size``. Nothing is ever dropped silently.

    Thread safety: every method holds one re-entrant lock, so the queue may be
    shared between threads. ``get_priority``, ``on_pressure`` and
    ``on_overflow_warning`` run while that lock is held; they may call this
    queue's methods (``on_pressure`` typically calls ``dequeue_batch`` to make
    room) but must not wait on another thread that uses the queue.

    Args:
        get_priority: maps an item to ``"high" | "normal" | "low"``; default:
            everything is normal. An exception it raises propagates out of
            ``enqueue`` and the item is not stored.
        max_size: soft capacity (an int >= 0), or None for unbounded.
        on_pressure: admission policy at capacity (see above).
        on_overflow_warning: told ``(size_after, max_size)`` when the queue grows
            past capacity.

    Raises:
        ValidationError: ``max_size`` is not None or an int >= 0 (the seed takes
            any number; a negative or fractional capacity is a caller's bug here).

    Example:
        >>> q = PriorityQueue(get_priority=lambda job: job[0])
        >>> q.enqueue(("low", 1)), q.enqueue(("high", 2))
        (True, True)
        >>> q.dequeue_batch(5)
        [('high', 2), ('low', 1)]
    """

    def __init__(
        self,
        get_priority: Callable[[T], str] | None = None,
        *,
        max_size: int | None = None,
        on_pressure: Callable[[PriorityQueue[T], T], bool] | None = None,
        on_overflow_warning: Callable[[int, int], None] | None = None,
    ) -> None:
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0
        ):
            raise ValidationError("max_size", max_size, "must be None or an int >= 0")
        self._get_priority: Callable[[T], str] = get_priority or _everything_normal
        self._max_size = max_size
        self._on_pressure = on_pressure
        self._on_overflow_warning = on_overflow_warning
        self._tiers: dict[str, deque[T]] = {p: deque() for p in PRIORITIES}
        self._lock = threading.RLock()
        self._warned_invalid = False

    @property
    def max_size(self) -> int | None:
        """The configured capacity, or None when unbounded."""
        return self._max_size

    def enqueue(self, item: T) -> bool:
        """Insert ``item`` at the back of its tier.

        Returns:
            True when the item was stored; False when ``on_pressure`` rejected it.
        """
        with self._lock:
            limit = self._max_size
            if limit is not None and self._size() >= limit:
                if self._on_pressure is not None:
                    if not self._on_pressure(self, item):
                        return False
                    if self._size() >= limit and self._on_overflow_warning is not None:
                        self._on_overflow_warning(self._size() + 1, limit)
                elif self._on_overflow_warning is not None:
                    self._on_overflow_warning(self._size() + 1, limit)
            self._tiers[self._tier_of(item)].append(item)
            return True

    def dequeue_batch(self, n: int) -> list[T]:
        """Remove and return up to ``n`` items: high first, then normal, then low.

        Returns ``[]`` when ``n <= 0`` or the queue is empty.
        """
        if n <= 0:
            return []
        with self._lock:
            taken: list[T] = []
            for priority in PRIORITIES:
                tier = self._tiers[priority]
                while tier and len(taken) < n:
                    taken.append(tier.popleft())
            return taken

    def drain(self, filter: Callable[[T], bool] | None = None) -> list[T]:
        """Remove and return the items matching ``filter`` (all when None).

        The result runs high → normal → low, FIFO within a tier; the items left
        behind keep their order. If ``filter`` raises, the queue is unchanged and
        the exception propagates.
        """
        with self._lock:
            if filter is None:
                taken = [item for p in PRIORITIES for item in self._tiers[p]]
                for tier in self._tiers.values():
                    tier.clear()
                return taken
            split: dict[str, tuple[list[T], deque[T]]] = {}
            for priority in PRIORITIES:
                out: list[T] = []
                kept: deque[T] = deque()
                for item in self._tiers[priority]:
                    (out if filter(item) else kept).append(item)
                split[priority] = (out, kept)
            # Only now mutate, so a raising filter leaves the queue as it was.
            taken = []
            for priority in PRIORITIES:
                out, kept = split[priority]
                taken.extend(out)
                self._tiers[priority] = kept
            return taken

    def clear(self) -> None:
        """Drop every item."""
        with self._lock:
            for tier in self._tiers.values():
                tier.clear()

    def stats(self) -> QueueStats:
        """Counts per tier: ``{"high", "normal", "low", "total"}``."""
        with self._lock:
            high, normal, low = (len(self._tiers[p]) for p in PRIORITIES)
            return {"high": high, "normal": normal, "low": low, "total": high + normal + low}

    @property
    def size(self) -> int:
        """Items queued, all tiers together."""
        with self._lock:
            return self._size()

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        s = self.stats()
        return f"<PriorityQueue high={s['high']} normal={s['normal']} low={s['low']}>"

    def _size(self) -> int:
        return sum(len(tier) for tier in self._tiers.values())

    def _tier_of(self, item: T) -> str:
        priority = self._get_priority(item)
        if isinstance(priority, str):
            for name in PRIORITIES:
                if priority == name:  # also matches str-based enums
                    return name
        if not self._warned_invalid:
            self._warned_invalid = True
            logger.warning(_INVALID_PRIORITY, priority)
        return "normal"
