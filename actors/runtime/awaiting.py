"""Tasks that stopped to wait on other tasks (``ctx.wait``), as the supervisor keeps them.

An attempt that ends :class:`~actors.models.Waiting` is not an end: the supervisor hands it
here. :meth:`Awaiting.suspend` puts the task back to PENDING through the store's named
transition ``suspend`` (no attempt spent, no lease, no worker or queue slot held) due at:

- now, if every task it waits on is finished already (they ended while the attempt ran);
- else the wait's deadline (``Waiting.wake_at``) or ``recheck`` seconds from now, whichever
  comes first: the children may end on another node, whose ends this node never sees.

It remembers which tasks each suspended task waits on; when the supervisor records their
ends (:meth:`Awaiting.finished`: attempt ends, cancels, deletes), a task whose last one ended
is made due now (``TaskStore.update(run_at=now)``). What is remembered is only a shortcut:
after a restart the ``recheck`` time wakes the task, which looks again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..errors import TaskNotFound

if TYPE_CHECKING:
    from ..models import Waiting
    from ..storage.base import TaskStore

__all__ = ["Awaiting"]


class Awaiting:
    """The suspended tasks of one node and the tasks they wait on.

    Args:
        store: the node's store (the supervisor's: called from its thread only).
        recheck: the longest a suspended task stays asleep before it looks again (seconds).
    """

    def __init__(self, store: TaskStore, recheck: float) -> None:
        self._store = store
        self._recheck = recheck
        self._waits: dict[str, set[str]] = {}  # suspended task -> the unfinished tasks it waits on
        self._waited_by: dict[str, set[str]] = {}  # awaited task -> the suspended tasks waiting on it

    def __bool__(self) -> bool:
        return bool(self._waits)

    def suspend(self, items: Sequence[tuple[str, str, Waiting]], now: float) -> list[float]:
        """Store the suspension of each ``(task_id, token, Waiting)``; the due times applied.

        Raises:
            Exception: the store failed (nothing is remembered; the caller retries).
        """
        awaited = sorted({task_id for _, _, waiting in items for task_id in waiting.task_ids})
        found = self._store.get_many(awaited)
        rows: list[tuple[str, str, float]] = []
        pending: dict[str, set[str]] = {}
        for task_id, token, waiting in items:
            unfinished = {other for other in waiting.task_ids
                          if (task := found.get(other)) is not None and not task.status.finished}
            wake_at = math.inf if waiting.wake_at is None else waiting.wake_at
            rows.append((task_id, token, now if not unfinished else max(now, min(wake_at, now + self._recheck))))
            pending[task_id] = unfinished
        applied = set(self._store.suspend(rows, now))
        for task_id in applied:
            self._forget(task_id)
            if pending[task_id]:
                self._waits[task_id] = pending[task_id]
                for other in pending[task_id]:
                    self._waited_by.setdefault(other, set()).add(task_id)
        return [run_at for task_id, _, run_at in rows if task_id in applied]

    def finished(self, task_ids: Iterable[str], now: float) -> bool:
        """Tasks ``task_ids`` ended (finished for good, cancelled or deleted): the suspended tasks
        that waited on nothing else are made due now. True if one was.

        Raises:
            Exception: the store failed (those tasks wake at their recheck time instead).
        """
        woken = []
        for task_id in task_ids:
            for parent in self._waited_by.pop(task_id, ()):
                waits = self._waits.get(parent)
                if waits is None:
                    continue
                waits.discard(task_id)
                if not waits:
                    del self._waits[parent]
                    woken.append(parent)
        for parent in woken:
            try:
                self._store.update(parent, {"run_at": now}, now)
            except TaskNotFound:
                continue  # deleted meanwhile
        return bool(woken)

    def _forget(self, task_id: str) -> None:
        for other in self._waits.pop(task_id, ()):
            parents = self._waited_by.get(other)
            if parents is not None:
                parents.discard(task_id)
                if not parents:
                    del self._waited_by[other]
