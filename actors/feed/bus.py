"""The event bus of one node: subscribers, a bounded buffer, one dispatcher thread.

Whoever records a change (the supervisor's thread, a caller's thread creating tasks, the
follower of other nodes' changes) calls :meth:`EventBus.emit`, which only appends to a
bounded buffer under a lock: a slow or failing subscriber never slows or breaks the node.
When the buffer is full the oldest events are dropped (counted). One daemon dispatcher
thread, started by the first subscription and stopped by :meth:`EventBus.close` (the node's
stop), calls each subscriber in turn; a subscriber's exception is counted and logged once per
burst (again only after it has succeeded since), never propagated.

Cost when nobody subscribes: the recording sites test :attr:`EventBus.wanted` (a frozenset of
the kinds someone subscribed to, empty without subscribers) once per batch and build nothing.

Deduplication: while a follower reads other nodes' changes from the store (:meth:`follow`),
the same change can come twice (recorded here, and read back from the store); each
state event has a key (:func:`dedup_key`) and the second event with a key seen lately is
dropped (not counted as a drop).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from .event import Event, check_kinds

__all__ = ["CAPACITY", "EventBus", "dedup_key"]

log = logging.getLogger("actors")

#: Events the buffer holds before the oldest are dropped.
CAPACITY = 10_000
#: Keys of recent state events kept for deduplication.
SEEN = 50_000


def dedup_key(event: Event) -> Hashable | None:
    """What makes two events the same change (None: never deduplicated, e.g. metadata)."""
    if event.kind == "metadata":
        return None
    data = event.data
    if event.kind == "created":
        return (event.task_id, "created")
    if event.kind == "progress":
        return (event.task_id, "progress", data.get("attempt"), data.get("progress"))
    if event.kind in ("paused", "resumed"):
        return (event.task_id, event.kind, data.get("attempt"), round(event.at.timestamp(), 3))
    if event.kind == "continued":
        return (event.task_id, "continued", data.get("iteration"))
    return (event.task_id, event.kind, data.get("attempt"))


@dataclass
class _Subscriber:
    fn: Callable[[Event], Any]
    kinds: frozenset[str]
    failing: bool = False


class EventBus:
    """Subscribers and the bounded buffer between the node and them (thread-safe).

    Args:
        capacity: most events waiting for the dispatcher; beyond it the oldest are dropped.
    """

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._cond = threading.Condition(threading.RLock())  # (on_change hooks may call follow)
        self._buffer: deque[Event] = deque()
        self._subscribers: dict[int, _Subscriber] = {}
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._seen: OrderedDict[Hashable, None] | None = None  # keys of recent events, while following
        self._on_change: list[Callable[[frozenset[str]], None]] = []
        self._on_close: list[Callable[[], None]] = []
        #: The kinds someone subscribed to (empty: nobody). Read without the lock on the
        #: hot path: a stale read only delays or skips the first events of a new subscriber.
        self.wanted: frozenset[str] = frozenset()
        self.delivered = 0
        self.dropped = 0
        self.errors = 0
        self.deduplicated = 0
        #: True while a follower reads other nodes' changes (``feed.follow``; set by it).
        self.following = False
        #: Held by a create from its insert to its ``created`` events, and by the supervisor
        #: while it emits ``started``: a task claimed the moment its row committed is still
        #: ``created`` before it is ``started`` (taken only while someone subscribes to them).
        self.creating = threading.Lock()

    # --- subscribing -------------------------------------------------------------------------

    def subscribe(self, fn: Callable[[Event], Any], events: str | Iterable[str] | None = None) -> Callable[[], None]:
        """Call ``fn(event)`` for each event of the kinds in ``events`` (None: all), from the
        dispatcher thread. Returns ``unsubscribe()`` (idempotent).

        Raises:
            ValidationError: ``fn`` is not callable, or ``events`` names an unknown kind.
        """
        from ..errors import ValidationError

        if not callable(fn):
            raise ValidationError("fn", fn, "must be callable: fn(actors.Event)")
        kinds = check_kinds(events)
        with self._cond:
            if self._closed:
                from ..errors import NodeStopped

                raise NodeStopped()
            key = next(self._ids)
            self._subscribers[key] = _Subscriber(fn, kinds)
            self._changed()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="actors-events", daemon=True)
                self._thread.start()

        def unsubscribe() -> None:
            with self._cond:
                if self._subscribers.pop(key, None) is not None:
                    self._changed()

        return unsubscribe

    def on_change(self, fn: Callable[[frozenset[str]], None]) -> None:
        """Call ``fn(wanted)`` whenever the set of subscribed kinds changes (under the lock:
        ``fn`` must only note it, e.g. start or wake a follower)."""
        self._on_change.append(fn)

    def on_close(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Call ``fn()`` when the bus closes (after its dispatcher ended); returns what forgets it."""
        with self._cond:
            if self._closed:
                fn()
                return lambda: None
            self._on_close.append(fn)

        def forget() -> None:
            with self._cond, contextlib.suppress(ValueError):
                self._on_close.remove(fn)

        return forget

    def _changed(self) -> None:
        wanted: frozenset[str] = frozenset().union(*(s.kinds for s in self._subscribers.values()))
        if wanted != self.wanted:
            self.wanted = wanted
            for fn in self._on_change:
                fn(wanted)

    # --- emitting ----------------------------------------------------------------------------

    def emit(self, events: Iterable[Event]) -> None:
        """Queue events for the subscribers (never blocks on them; never raises)."""
        with self._cond:
            if self._closed or not self._subscribers:
                return
            seen = self._seen
            for event in events:
                if event.kind not in self.wanted:
                    continue
                if seen is not None:
                    key = dedup_key(event)
                    if key is not None:
                        if key in seen:
                            self.deduplicated += 1
                            continue
                        seen[key] = None
                        if len(seen) > SEEN:
                            seen.popitem(last=False)
                self._buffer.append(event)
            excess = len(self._buffer) - self._capacity
            if excess > 0:
                for _ in range(excess):
                    self._buffer.popleft()
                self.dropped += excess
            if self._buffer:
                self._cond.notify()

    def follow(self) -> None:
        """A follower of other nodes' changes runs from now on: deduplicate state events."""
        with self._cond:
            if self._seen is None:
                self._seen = OrderedDict()

    # --- delivering ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._buffer and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                events = list(self._buffer)
                self._buffer.clear()
                subscribers = list(self._subscribers.values())
            for event in events:
                for subscriber in subscribers:
                    if event.kind in subscriber.kinds:
                        self._deliver(subscriber, event)

    def _deliver(self, subscriber: _Subscriber, event: Event) -> None:
        try:
            subscriber.fn(event)
        except Exception:
            self.errors += 1
            if not subscriber.failing:  # once per burst of failures
                subscriber.failing = True
                log.exception("an event subscriber (%r) raised; its events go on", subscriber.fn)
            return
        subscriber.failing = False
        self.delivered += 1

    # --- lifecycle and stats ---------------------------------------------------------------------

    def close(self, timeout: float = 1.0) -> None:
        """Stop delivering (what is still buffered is dropped); the dispatcher thread ends
        after its current subscriber call (waited for up to ``timeout`` seconds). Idempotent."""
        with self._cond:
            self._closed = True
            self._buffer.clear()
            self._subscribers.clear()
            self.wanted = frozenset()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            with contextlib.suppress(RuntimeError):
                thread.join(timeout)
        with self._cond:
            closers, self._on_close = self._on_close, []
        for fn in closers:
            fn()

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> dict[str, Any]:
        """``{"subscribers", "delivered", "dropped", "errors", "buffered", "deduplicated", "following"}``."""
        with self._cond:
            return {"subscribers": len(self._subscribers), "delivered": self.delivered, "dropped": self.dropped,
                    "errors": self.errors, "buffered": len(self._buffer), "deduplicated": self.deduplicated,
                    "following": self.following}
