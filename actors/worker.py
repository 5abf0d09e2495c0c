"""The worker actor: owns one execution slot (a child process or a thread).

It pulls work from the dispatch queue (``Demand``), hands each ``Dispatch`` to
its executor, and forwards every executor event to the supervisor as it
happens. It asks for more while it still has a few jobs in hand, so the child
never waits for a round trip between two batches.
"""

from __future__ import annotations

import logging
from typing import Any

import pykka

from .execution.base import Executor, ExecutorFactory
from .messages import (
    Abort,
    Demand,
    Dispatch,
    ExecutorEvent,
    Job,
    JobDone,
    JobEnded,
    StopWorker,
    WorkerEvents,
)

__all__ = ["WorkerActor"]

log = logging.getLogger(__name__)


class _Sink:
    """Where an executor reports: events go to the supervisor, ends also to the worker."""

    def __init__(self, supervisor: Any, worker: Any) -> None:
        self._supervisor = supervisor
        self._worker = worker

    def __call__(self, event: ExecutorEvent) -> None:
        self.many([event])

    def many(self, events: list[ExecutorEvent]) -> None:
        try:
            self._supervisor.tell(WorkerEvents(tuple(events)))
            ended = sum(1 for event in events if type(event) is JobDone)
            if ended:
                self._worker.tell(JobEnded(ended))
        except pykka.ActorDeadError:
            log.debug("%d event(s) after stop dropped", len(events))


class WorkerActor(pykka.ThreadingActor):
    """One slot of the pool.

    Args:
        kind: ``"process"`` or ``"thread"``: which dispatch queue it pulls from.
        make_executor: builds the slot's executor, given the event sink.
        dispatch: the dispatch queue's ``ActorRef``.
        supervisor: the supervisor's ``ActorRef`` (receives ``WorkerEvents``).
        max_batch: most jobs in hand at once.
    """

    def __init__(self, kind: str, make_executor: ExecutorFactory, dispatch: Any, supervisor: Any,
                 max_batch: int = 16) -> None:
        super().__init__()
        self.kind = kind
        self._make_executor = make_executor
        self._dispatch = dispatch
        self._supervisor = supervisor
        self._max_batch = max(1, max_batch)
        self._low_water = self._max_batch // 2
        self._inflight = 0
        self._demanding = False
        self._stopping = False
        self._executor: Executor | None = None

    def on_start(self) -> None:
        self._executor = self._make_executor(_Sink(self._supervisor, self.actor_ref))
        self._demand()

    @property
    def pid(self) -> int | None:
        return self._executor.pid if self._executor is not None else None

    def _demand(self) -> None:
        want = self._max_batch - self._inflight
        if self._demanding or self._stopping or want <= 0 or self._inflight > self._low_water:
            return
        self._demanding = True
        self._dispatch.tell(Demand(self.kind, self.actor_ref, want))

    def on_receive(self, message: Any) -> Any:
        assert self._executor is not None
        if isinstance(message, Dispatch):
            self._demanding = False
            self._inflight += len(message.items)
            functions = {work.job.task.name: work.execute for work in message.items}
            self._executor.submit([work.job for work in message.items], functions)
            self._demand()
        elif isinstance(message, JobEnded):
            self._inflight -= message.n
            if self._inflight == 0 and self._demanding and not self._stopping:
                # idle now: renew the standing demand so the dispatch queue prefers this worker
                self._dispatch.tell(Demand(self.kind, self.actor_ref, self._max_batch))
            self._demand()
        elif isinstance(message, Abort):
            return self._executor.abort(message.task_id, message.grace)
        elif isinstance(message, StopWorker):
            self._stopping = True
            unstarted: list[Job] = self._executor.stop(message.timeout)
            return unstarted
        return None
