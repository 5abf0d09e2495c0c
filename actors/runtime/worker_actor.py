"""The worker actor: owns one execution slot (a child process or a thread).

It starts the slot, aborts jobs and stops the slot; every executor event goes to
the supervisor as it happens (from the executor's own thread: the supervisor
learns from the ``JobDone`` events that the worker has room again). Jobs reach
the executor straight from the supervisor's pool (``actors.runtime.pool``) when its
``submit`` only queues (process and thread executors: no message, no thread
hand-off per batch), else as ``Dispatch`` messages to this actor (inline).

Supervised: if a handler raises (pykka then stops the actor and calls ``on_failure``),
or the actor is stopped by anyone but the supervisor's ``StopWorker``, it stops its
executor (a running job is killed and reported crashed) and tells the supervisor
``ChildExited`` with the jobs that never started; the supervisor restarts it.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import pykka

from ..execution.base import Executor, ExecutorFactory
from ..messages import Abort, ChildExited, Dispatch, ExecutorEvent, Job, StopWorker, WorkerEvents

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

    use_daemon_thread = True  # a program that never calls stop() still exits (atexit gives claims back)

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
    def direct(self) -> Executor | None:
        """The executor, if the supervisor may call its ``submit`` directly (``queues_only``),
        else None (jobs then come as ``Dispatch`` messages)."""
        executor = self._executor
        return executor if executor is not None and executor.queues_only else None

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
        else:
            raise TypeError(f"worker actor: unexpected message {message!r}")
        return None

    def on_failure(self, exception_type: type[BaseException] | None, exception_value: BaseException | None,
                   traceback: TracebackType | None) -> None:
        self._exited(f"{getattr(exception_type, '__name__', 'error')}: {exception_value}")

    def on_stop(self) -> None:
        if not self._stopped:  # stopped by someone else than the supervisor's StopWorker
            self._exited("stopped")

    def _exited(self, reason: str) -> None:
        """Stop the executor (nothing may run on after this actor) and tell the supervisor."""
        self._stopped = True
        unstarted: list[Job] = []
        if self._executor is not None:
            try:
                unstarted = self._executor.stop(0.0)
            except Exception:
                log.exception("worker actor: its executor did not stop cleanly")
        try:
            self._supervisor.tell(ChildExited("worker", self.actor_ref, reason, tuple(unstarted)))
        except pykka.ActorDeadError:
            log.debug("worker exited after the supervisor")
