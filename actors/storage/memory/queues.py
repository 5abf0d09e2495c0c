"""MemoryStore's queue settings: ``set_queue``, ``queues`` and the gate of a claim.

A mixin of ``MemoryStore`` (``store``); every call holds the store's lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from ...models import QueueInfo, TaskStatus
from ...spec.queues import check_queue_changes, check_queue_name
from .._gate import Gate, changed, listing, queue_of
from .rows import Row

__all__ = ["MemoryQueues"]


class MemoryQueues:
    """Queue settings of ``MemoryStore`` (see ``TaskStore.set_queue``)."""

    _lock: threading.RLock
    _rows: dict[str, Row]
    _check_open: Callable[[], None]
    counts_by_queue: Callable[[], dict[str, dict[str, int]]]

    def __init__(self) -> None:
        super().__init__()
        self._queue_settings: dict[str, QueueInfo] = {}
        self._queue_starts: dict[str, list[float]] = {}  # rate-limited queue -> recent start times

    def set_queue(self, name: str, changes: Mapping[str, Any]) -> QueueInfo:
        """Declare or change queue ``name`` (see ``TaskStore.set_queue``)."""
        name = check_queue_name(name)
        checked = check_queue_changes(changes)
        with self._lock:
            self._check_open()
            self._queue_settings[name] = changed(name, self._queue_settings.get(name), checked)
            return next(info for info in self.queues() if info.name == name)

    def queues(self) -> list[QueueInfo]:
        """Every declared queue and every queue with tasks (see ``TaskStore.queues``)."""
        with self._lock:
            self._check_open()
            return listing(self._queue_settings.values(), self.counts_by_queue())

    def _gate(self, now: float) -> Gate | None:
        """The claim's gate, or None when no queue restricts claims (the claim costs nothing more)."""
        limited = {name: info for name, info in self._queue_settings.items() if info.limited}
        if not limited:
            return None
        running = Counter((queue_of(row.values["queue"]), row.values["concurrency_key"])
                          for row in self._rows.values() if row.status is TaskStatus.RUNNING)
        for name, info in limited.items():  # prune the starts past their period
            if info.rate_limit is not None:
                self._queue_starts[name] = [at for at in self._queue_starts.get(name, ())
                                            if at > now - info.rate_limit[1]]
        return Gate(limited, [(q, k, n) for (q, k), n in running.items()], self._queue_starts, now)

    def _record_starts(self, gate: Gate, now: float) -> None:
        for queue in gate.rated():
            self._queue_starts.setdefault(queue, []).append(now)
