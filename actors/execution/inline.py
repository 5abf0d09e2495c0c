"""``InlineExecutor``: runs jobs synchronously in the calling thread (unit tests, inline mode).

Deterministic: ``submit`` returns after every job it was given has run and
reported its ``JobDone``; ``on_event`` is called in the calling thread. Time is
read from the injected clock only, so a test drives timeouts with a
``ManualClock``. Nothing can interrupt a running job here: a job that returns
after its deadline (by its clock) ends ``TimedOut``, and ``abort`` of the
running job (from one of its event callbacks, say) only sets its abort flag.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..attempt import run_attempt
from ..clock import SystemClock
from ..context import TaskContext
from ..messages import JobDone, JobStarted
from ..models import Cancelled, Raised, TimedOut

if TYPE_CHECKING:
    from ..clock import Clock
    from ..messages import Job
    from ..models import Outcome
    from ..triggers import TaskCalls
    from .base import Creator, EventSink, StepWriter

__all__ = ["InlineExecutor"]


class InlineExecutor:
    """An ``Executor`` that runs each job in the thread that submits it.

    Args:
        on_event: receives every event, in the submitting thread.
        create: the jobs' ``ctx.create_task`` (a ``Creator``, called in the submitting thread).
        step: the jobs' ``ctx.step`` writer (a ``StepWriter``, called in the submitting thread).
        calls: the jobs' ``ctx.trigger`` / ``ctx.wait`` (``actors.triggers.TaskCalls``).
        clock: where times are read (``SystemClock`` when omitted).

    Example:
        >>> events = []
        >>> executor = InlineExecutor(events.append)
        >>> # executor.submit([job], {job.task.name: execute}) runs ``execute`` now
    """

    queues_only = False  # see ``Executor``

    def __init__(self, on_event: EventSink, *, create: Creator | None = None, clock: Clock | None = None,
                 step: StepWriter | None = None,
                 calls: TaskCalls | None = None) -> None:
        self._on_event = on_event
        self._create = create
        self._step = step
        self._calls = calls
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._queue: deque[tuple[Job, Callable[..., Any] | None]] = deque()
        self._running: Job | None = None
        self._aborted = threading.Event()
        self._reason: Outcome | None = None
        self._draining = False
        self._closed = False

    @property
    def pid(self) -> int | None:
        """Always None: there is no child process."""
        return None

    def submit(self, jobs: Sequence[Job], functions: Mapping[str, Callable[..., Any]]) -> None:
        """Run ``jobs`` in order now, each ending with one ``JobDone``.

        Called again from inside a job or an event callback, it queues the jobs
        behind the current ones and returns; the outer call runs them.

        Raises:
            RuntimeError: the executor was stopped.
        """
        if self._closed:
            raise RuntimeError("InlineExecutor.submit: the executor is stopped")
        self._queue.extend((job, functions.get(job.task.name)) for job in jobs)
        if self._draining:
            return
        self._draining = True
        try:
            while self._queue and not self._closed:
                job, execute = self._queue.popleft()
                self._run(job, execute)
        finally:
            self._draining = False

    def abort(self, task_id: str, grace: float) -> bool:
        """A queued job ends ``Cancelled`` at once; the running one sees ``is_aborted()``
        and ends ``Cancelled`` when it returns (``grace`` is not enforced inline)."""
        found = False
        if self._running is not None and self._running.task.id == task_id:
            self._reason = Cancelled()
            self._aborted.set()
            found = True
        for item in [item for item in self._queue if item[0].task.id == task_id]:
            self._queue.remove(item)
            self._on_event(JobDone(task_id, item[0].token, Cancelled()))
            found = True
        return found

    def stop(self, timeout: float) -> list[Job]:
        """Stop: the jobs not yet started are returned (only possible when called from a job)."""
        self._closed = True
        unstarted = [job for job, _ in self._queue]
        self._queue.clear()
        return unstarted

    def _run(self, job: Job, execute: Callable[..., Any] | None) -> None:
        task = job.task
        if execute is None:
            self._on_event(JobDone(task.id, job.token, Raised(
                "UnknownWorker", f"no task worker registered under the name {task.name!r}")))
            return
        self._running, self._reason = job, None
        self._aborted = threading.Event()
        started = self._clock.now()
        try:
            if job.timeout is not None:
                self._on_event(JobStarted(task.id, job.token, started))
            ctx = TaskContext(job, self._on_event, create=self._create, aborted=self._aborted, started=started,
                              clock=self._clock, step=self._step, calls=self._calls)

            def verdict() -> Outcome | None:  # asked when execute returns: the hooks see it
                if self._reason is not None:
                    return self._reason
                if job.timeout is not None and self._clock.now() - started > job.timeout:
                    return TimedOut(job.timeout)
                return None

            outcome = run_attempt(execute, ctx, reason=verdict)
        finally:
            self._running = None
        self._on_event(JobDone(task.id, job.token, outcome))
