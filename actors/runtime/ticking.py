"""The supervisor actor's clock side (a mixin of ``SupervisorActor``): what a ``Tick`` does,
and when the scheduler wakes next.

A tick (the scheduler's ``Tick``, or ``Supervisor.tick`` under a manual clock) writes what the
recorder kept while the store failed or what pacing held back (``planner.hold``), notices
writes by other processes (``data_version``), runs maintenance when it is due, and claims;
it looks up the store's next due time only when something may have moved it, so an idle
poll costs one ``data_version`` read.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..storage.base import data_versioned

if TYPE_CHECKING:
    from ..models import Claim
    from ..storage.base import TaskStore
    from ..workers import TaskWorker
    from .children import Waker
    from .config import SupervisorConfig
    from .health import Health
    from .maintenance import Maintenance
    from .planner import ClaimPlanner
    from .recorder import Recorder
    from .waiters import Waiters

__all__ = ["Ticking"]


class Ticking:
    """``_tick`` and ``_wake_scheduler``, for ``SupervisorActor``."""

    if TYPE_CHECKING:  # provided by SupervisorActor
        _store: TaskStore
        _cfg: SupervisorConfig
        _health: Health
        _maintenance: Maintenance
        _planner: ClaimPlanner
        _recorder: Recorder
        _waiters: Waiters
        _scheduler: Waker | None
        _workers: dict[str, TaskWorker]
        _held: dict[str, Claim]
        _data_version: int | None
        last_tick: float | None

        def _failed(self, op: str, exc: BaseException) -> None: ...
        def _ready(self, *ops: str) -> bool: ...
        def _flush(self) -> None: ...
        def _pump(self) -> None: ...
        def _settle(self, task_ids: list[str]) -> None: ...

    def _wake_scheduler(self, now: float) -> None:
        """Look up the store's next due time (a query) and wake the scheduler for it."""
        if self._scheduler is None or not self._health.ready("wake", now):
            return  # (a failed look is tried again by the tick at its retry time)
        wake = self._maintenance.next_wake() if self._cfg.serving else math.inf
        try:
            due = self._store.next_due(list(self._workers)) if self._cfg.serving else None
        except Exception as exc:
            self._failed("wake", exc)
            return
        self._health.succeeded("wake", now)
        self._planner.known(due)
        wake = min(wake, self._planner.next_wake(now))
        if due is not None and due <= now:
            # due already: claim it now, not on a tick asked for at once (with every slot or
            # worker busy that tick would claim nothing and ask for the next: a busy loop)
            self._pump()
        self._scheduler.wake_at(max(wake, now))

    def _tick(self, now: float) -> None:
        """Time passed. Claims only when something may be due: a known due time came, or
        another process wrote to the store (``data_version`` moved), so idle polls are cheap."""
        self.last_tick = now
        if self._recorder.buffer and not self._recorder.pending and self._ready("finish", "create", "write"):
            self._flush()  # attempt ends kept while the store was unavailable
        if self._recorder.unreleased:
            self._recorder.write_releases()
        try:
            external = self._external_change()
        except Exception as exc:
            self._failed("poll", exc)
            external = False
        else:
            self._health.succeeded("poll", now)
        if external:
            self._maintenance.schedules_changed(elsewhere_at=now)  # another node may have added one
        if self._cfg.serving and now >= self._maintenance.next_wake():
            self._maintenance.run(now, holding=bool(self._held), worker_names=self._workers)
            external = True
        if self._waiters and external:
            self._settle(self._waiters.task_ids())
        if external:
            self._planner.external()
        self._pump()
        if self._planner.look(now, external=external, failing=self._health.failing("wake")):
            self._wake_scheduler(now)
        elif self._scheduler is not None:  # nothing new, or nothing we could take: keep the due time we know
            wake = min(self._planner.next_wake(now), self._maintenance.next_wake())
            self._scheduler.wake_at(max(wake, now))
        retry = self._health.next_retry()
        if retry is not None and self._scheduler is not None:
            self._scheduler.wake_at(max(retry, now))  # a failed operation is tried again then

    def _external_change(self) -> bool:
        version_of = self._store.data_version if data_versioned(self._store) else None
        if version_of is None:
            return True  # a store that cannot tell: assume it changed
        version = version_of()
        changed = version != self._data_version
        self._data_version = version
        return bool(changed)

