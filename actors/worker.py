"""The worker actor: owns one execution slot (a child process or a thread).

It starts the slot, aborts jobs and stops the slot; every executor event goes to
the supervisor as it happens (from the executor's own thread: the supervisor
learns from the ``JobDone`` events that the worker has room again). Jobs reach
the executor straight from the supervisor's pool (``actors.pool``) when its
``submit`` only queues (process and thread executors: no message, no thread
hand-off per batch), else as ``Dispatch`` messages to this actor (inline).
"""

from __future__ import annotations

import logging
from typing import Any

import pykka

from .execution.base import Executor, ExecutorFactory
from .messages import Abort, Dispatch, ExecutorEvent, Job, StopWorker, WorkerEvents

__all__ = ["WorkerActor"]

log = logging.getLogger(__name__)


class _Sink:
    """Where an executor reports: every event goes to the supervisor."""

    def __init__(self, supervisor: Any) -> None:
        self._supervisor = supervisor

    def __call__(self, event: ExecutorEvent) -> None:
        self.many([event])

    def many(self, events: list[ExecutorEvent]) -> None:
        try:
            self._supervisor.tell(WorkerEvents(tuple(events)))
        except pykka.ActorDeadError:
            log.debug("%d event(s) after stop dropped", len(events))


class WorkerActor(pykka.ThreadingActor):
    """One slot of the pool.

    Args:
        kind: ``"process"`` or ``"thread"``: which jobs the pool hands it.
        make_executor: builds the slot's executor, given the event sink.
        supervisor: the supervisor's ``ActorRef`` (receives ``WorkerEvents``).
    """

    def __init__(self, kind: str, make_executor: ExecutorFactory, supervisor: Any) -> None:
        super().__init__()
        self.kind = kind
        self._make_executor = make_executor
        self._supervisor = supervisor
        self._executor: Executor | None = None
        self._stopped = False

    def on_start(self) -> None:
        self._executor = self._make_executor(_Sink(self._supervisor))

    @property
    def pid(self) -> int | None:
        return self._executor.pid if self._executor is not None else None

    @property
    def direct_submit(self) -> Any:
        """The executor's ``submit`` if the supervisor may call it directly (``queues_only``),
        else None (jobs then come as ``Dispatch`` messages)."""
        executor = self._executor
        return executor.submit if executor is not None and executor.queues_only else None

    def on_receive(self, message: Any) -> Any:
        assert self._executor is not None
        if isinstance(message, Dispatch):
            if self._stopped:  # too late: the supervisor gives every claim still held back
                return None
            functions = {work.job.task.name: work.execute for work in message.items}
            self._executor.submit([work.job for work in message.items], functions)
        elif isinstance(message, Abort):
            return self._executor.abort(message.task_id, message.grace)
        elif isinstance(message, StopWorker):
            self._stopped = True
            unstarted: list[Job] = self._executor.stop(message.timeout)
            return unstarted
        return None
