"""MemoryStore's iterations and durable steps: ``continue_tasks`` and ``save_step``.

A mixin of ``MemoryStore`` (``store``); every call holds the store's lock and is fenced by
the claim's token.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ...iterations import check_step_key
from ...models import TaskStatus
from ..iterating import Continuation
from .rows import Row, dumps_json

__all__ = ["MemoryIterations"]


class MemoryIterations:
    """``continue_tasks`` and ``save_step`` of ``MemoryStore`` (see ``TaskStore``)."""

    _lock: threading.RLock
    _check_open: Callable[[], None]
    _live: Callable[[str, str], Row | None]

    def continue_tasks(self, continuations: Sequence[Continuation], now: float) -> list[str]:
        """Apply continuations all-or-nothing; returns the ids applied (see ``Continuation``)."""
        metadata = [None if item.metadata is None else dumps_json("metadata", dict(item.metadata))
                    for item in continuations]
        with self._lock:
            self._check_open()
            applied: list[str] = []
            for item, text in zip(continuations, metadata, strict=True):
                row = self._live(item.task_id, item.token)
                if row is None:
                    continue
                values = row.values
                if text is not None:
                    values["metadata"] = text
                values.update(run_at=item.run_at, iteration=values["iteration"] + 1, attempts=0, failure_count=0,
                              crash_count=0, steps="{}", error=None, result="null")
                row.last_run_at = now
                row.leave_running(TaskStatus.PENDING, now)
                applied.append(item.task_id)
            return applied

    def save_step(self, task_id: str, token: str, key: str, value: Any, now: float) -> bool:
        """Keep step ``key`` of the running attempt (the first value stays); False if stale."""
        check_step_key(key)
        text = dumps_json(key, value)
        with self._lock:
            self._check_open()
            row = self._live(task_id, token)
            if row is None:
                return False
            steps = json.loads(row.values["steps"])
            steps.setdefault(key, json.loads(text))
            row.values.update(steps=dumps_json("steps", steps), updated_at=now)
            return True
