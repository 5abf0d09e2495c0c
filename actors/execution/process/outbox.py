"""The child's outbox: events waiting to go to the parent, sent in batches (stdlib only).

The child's main thread ``put``s what it emits between jobs and ``flush``es when its queue
is empty or the oldest event is due (``due``). Events a running job emits (``put_live``,
from any thread) must reach the parent while the main thread is inside the job: the first
one starts the *flusher* thread, which sends what waits once the oldest event is
``interval`` old. A child whose jobs emit nothing of their own never starts it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...messages import ExecutorEvent
    from .wire import Wire

__all__ = ["Outbox"]


class Outbox:
    """Events waiting to go to the parent (thread-safe). A send that finds the parent gone
    ends the process (``os._exit(1)``): nobody would hear about its jobs."""

    def __init__(self, conn: Wire, interval: float) -> None:
        self._conn = conn
        self._interval = interval
        self._cond = threading.Condition()
        self._items: list[tuple[int, ExecutorEvent]] = []
        self._first = 0.0
        self._flusher = False  # started

    def put(self, seq: int, event: ExecutorEvent) -> None:
        """Hold ``event`` until the next ``flush`` (or the flusher's, if it runs)."""
        with self._cond:
            if not self._items:
                self._first = time.monotonic()
            self._items.append((seq, event))

    def put_live(self, seq: int, event: ExecutorEvent) -> None:
        """Hold ``event``, sent at the latest ``interval`` from now (by the flusher)."""
        with self._cond:
            if not self._items:
                self._first = time.monotonic()
                self._cond.notify()
            self._items.append((seq, event))
            if not self._flusher:
                self._flusher = True
                threading.Thread(target=self._flush_when_due, name="actors-child-flusher", daemon=True).start()

    def due(self) -> bool:
        """True when the oldest unsent event has waited ``interval`` (read without the lock)."""
        return bool(self._items) and time.monotonic() - self._first >= self._interval

    def flush(self) -> None:
        with self._cond:
            self._send_locked()

    def send_now(self, message: tuple[Any, ...]) -> None:
        """Send what waits, then ``message`` (so the events emitted before it arrive first).

        Raises:
            whatever ``pickle`` raises for a message it cannot pickle (nothing is sent).
        """
        with self._cond:
            self._send_locked()
            try:
                self._conn.send(message)
            except (OSError, EOFError):
                os._exit(1)  # the parent is gone

    def _flush_when_due(self) -> None:
        with self._cond:
            while True:
                if not self._items:
                    self._cond.wait()
                    continue
                wait = self._first + self._interval - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                self._send_locked()

    def _send_locked(self) -> None:
        if not self._items:
            return
        batch, self._items = self._items, []
        try:
            self._conn.send(("events", batch))
        except (OSError, EOFError):
            os._exit(1)  # the parent is gone
        except Exception:
            self._send_one_by_one(batch)

    def _send_one_by_one(self, batch: list[tuple[int, ExecutorEvent]]) -> None:
        """A batch that does not pickle: send what does, drop (and say) what does not."""
        for seq, event in batch:
            try:
                self._conn.send(("events", [(seq, event)]))
            except (OSError, EOFError):
                os._exit(1)
            except Exception as exc:
                print(f"actors: dropped an event that does not pickle: {event!r}: {exc}", file=sys.stderr)
