"""``ThreadExecutor``: one dedicated thread runs jobs in order, in this process.

For task workers declared ``isolation="thread"`` (they need in-process objects,
such as an agent runtime). Events are reported from the executor's threads.

Limits (a thread cannot be killed):
    Timeouts and aborts are cooperative. When a job's deadline passes, its abort
    flag is set and ``JobDone(TimedOut)`` is reported at once; when an aborted job
    is still running after its grace, ``JobDone(Cancelled)`` is reported. Either
    way the thread is *abandoned*: it keeps running the function until that
    returns (its events and result are dropped), and a fresh thread runs the next
    jobs. An abandoned job that never returns leaks its thread (a daemon thread,
    so it does not keep the interpreter alive). ``stop`` treats a job still
    running after ``timeout`` the same way and reports it ``Crashed``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..attempt import run_attempt
from ..context import TaskContext
from ..errors import ActorsError
from ..messages import JobDone, JobStarted
from ..models import Cancelled, Crashed, Raised, TimedOut

if TYPE_CHECKING:
    from ..messages import ExecutorEvent, Job
    from ..models import Outcome
    from ..triggers import Looked, TaskCalls
    from .base import Creator, EventSink, StepWriter

__all__ = ["ThreadExecutor"]


@dataclass(eq=False)
class _Run:
    """The job on the runner thread, and what the watcher decided about it."""

    job: Job
    aborted: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None  # monotonic; the job ends TimedOut there
    kill_at: float | None = None  # monotonic; an aborted job is abandoned there
    reason: Outcome | None = None  # overrides the job's own outcome once aborted
    abandoned: bool = False


class _RunCalls:
    """The ``TaskCalls`` of one run: refused once the run is abandoned, like its ``create``."""

    def __init__(self, calls: TaskCalls | None, run: _Run) -> None:
        self._calls = calls
        self._run = run

    def trigger(self, parent_id: str, specs: list[dict[str, Any]]) -> list[str]:
        return self._open("trigger").trigger(parent_id, specs)

    def look(self, task_ids: list[str]) -> list[Looked | None]:
        return self._open("wait").look(task_ids)

    def _open(self, call: str) -> TaskCalls:
        if self._run.abandoned or self._calls is None:
            why = "its attempt was abandoned" if self._run.abandoned else "this executor has no TaskCalls"
            raise ActorsError(f"ctx.{call}: {why}")
        return self._calls


class ThreadExecutor:
    """An ``Executor`` running jobs one after another on a dedicated thread.

    Args:
        on_event: receives every event (from the executor's threads).
        create: the jobs' ``ctx.create_task`` (a ``Creator``, called in the job's thread).
        step: the jobs' ``ctx.step`` writer (a ``StepWriter``, called in the job's thread).
        calls: the jobs' ``ctx.trigger`` / ``ctx.wait`` (``actors.triggers.TaskCalls``).
        name: prefix of the threads' names.

    Example:
        >>> executor = ThreadExecutor(print)
        >>> # executor.submit(jobs, {"MY_TASK": execute}); ...; executor.stop(5.0)
    """

    queues_only = True  # see ``Executor``

    def __init__(self, on_event: EventSink, *, create: Creator | None = None,
                 name: str = "actors-thread-executor", step: StepWriter | None = None,
                 calls: TaskCalls | None = None) -> None:
        self._on_event = on_event
        self._create = create
        self._step = step
        self._calls = calls
        self._name = name
        self._lock = threading.RLock()  # RLock: on_event may call back into the executor
        self._changed = threading.Condition(self._lock)  # queue, running job, stop
        self._timers = threading.Condition(self._lock)  # wakes the watcher: a deadline or grace was set
        self._queue: deque[tuple[Job, Callable[..., Any] | None]] = deque()
        self._running: _Run | None = None
        self._generation = 0
        self._runner: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._stopping = False
        self._closed = False

    @property
    def pid(self) -> int | None:
        """Always None: jobs run in this process."""
        return None

    def submit(self, jobs: Sequence[Job], functions: Mapping[str, Callable[..., Any]]) -> None:
        """Queue ``jobs`` behind the ones already here.

        Raises:
            RuntimeError: the executor is stopping or stopped.
        """
        with self._lock:
            if self._stopping:
                raise RuntimeError("ThreadExecutor.submit: the executor is stopped")
            self._queue.extend((job, functions.get(job.task.name)) for job in jobs)
            self._ensure_threads()
            self._changed.notify_all()

    def abort(self, task_id: str, grace: float) -> bool:
        """Queued: ``Cancelled`` at once. Running: abort flag now; abandoned and
        reported ``Cancelled`` after ``grace`` seconds if it has not returned."""
        with self._lock:
            found = False
            run = self._running
            if run is not None and run.job.task.id == task_id and run.reason is None:
                run.reason = Cancelled()
                run.aborted.set()
                run.kill_at = time.monotonic() + max(0.0, grace)
                self._timers.notify_all()
                found = True
            for item in [item for item in self._queue if item[0].task.id == task_id]:
                self._queue.remove(item)
                self._on_event(JobDone(task_id, item[0].token, Cancelled()))
                found = True
            return found

    def stop(self, timeout: float) -> list[Job]:
        """No new job starts; the running one may finish within ``timeout``, else it is
        abandoned and reported ``Crashed``. Returns the jobs that never started."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            if self._closed:
                return []
            self._stopping = True
            self._changed.notify_all()
            while self._running is not None and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            run = self._running
            if run is not None:
                self._abandon(run, Crashed(f"still running when the executor stopped ({timeout:g}s); "
                                           "its thread was abandoned"))
            unstarted = [job for job, _ in self._queue]
            self._queue.clear()
            self._closed = True
            self._generation += 1
            self._changed.notify_all()
            self._timers.notify_all()
            return unstarted

    # --- threads --------------------------------------------------------------------

    def _ensure_threads(self) -> None:
        if self._runner is None or not self._runner.is_alive():
            self._start_runner()
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name=f"{self._name}-watcher", daemon=True)
            self._watcher.start()

    def _start_runner(self) -> None:
        self._generation += 1
        self._runner = threading.Thread(target=self._serve, args=(self._generation,),
                                        name=f"{self._name}-{self._generation}", daemon=True)
        self._runner.start()

    def _serve(self, generation: int) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopping and generation == self._generation:
                    self._changed.wait()
                if generation != self._generation or self._stopping:
                    return
                job, execute = self._queue.popleft()
                run = _Run(job)
                self._running = run
                if job.timeout is not None:
                    run.deadline = time.monotonic() + job.timeout
                    self._timers.notify_all()
            outcome = self._execute(run, execute)
            with self._lock:
                if run.abandoned:
                    return  # the watcher reported this job and started a fresh thread
                self._running = None
                self._on_event(JobDone(job.task.id, job.token, run.reason or outcome))
                self._changed.notify_all()

    def _execute(self, run: _Run, execute: Callable[..., Any] | None) -> Outcome:
        job = run.job
        if execute is None:
            return Raised("UnknownWorker", f"no task worker registered under the name {job.task.name!r}")

        def emit(event: ExecutorEvent) -> None:
            with self._lock:
                if not run.abandoned:
                    self._on_event(event)

        def create(parent_id: str, spec: dict[str, Any]) -> str:
            if run.abandoned or self._create is None:
                why = "its attempt was abandoned" if run.abandoned else "this executor has no Creator"
                raise ActorsError(f"ctx.create_task: {why}")
            return self._create(parent_id, spec)

        started = time.time()
        if job.timeout is not None:
            emit(JobStarted(job.task.id, job.token, started))
        def step(task_id: str, token: str, key: str, value: Any) -> None:
            if run.abandoned or self._step is None:
                why = "its attempt was abandoned" if run.abandoned else "this executor has no StepWriter"
                raise ActorsError(f"ctx.step: {why}")
            self._step(task_id, token, key, value)

        ctx = TaskContext(job, emit, create=create, aborted=run.aborted, started=started, step=step,
                          calls=_RunCalls(self._calls, run))
        return run_attempt(execute, ctx, reason=lambda: run.reason)

    def _watch(self) -> None:
        with self._lock:
            while not self._closed:
                run = self._running
                now = time.monotonic()
                wake: float | None = None
                if run is not None and run.deadline is not None:
                    if run.deadline <= now:
                        run.reason = run.reason or TimedOut(run.job.timeout or 0.0)
                        run.aborted.set()
                        self._abandon(run, run.reason)
                        continue
                    wake = run.deadline
                if run is not None and run.kill_at is not None:
                    if run.kill_at <= now:
                        self._abandon(run, run.reason or Cancelled())
                        continue
                    wake = run.kill_at if wake is None else min(wake, run.kill_at)
                self._timers.wait(None if wake is None else wake - now)

    def _abandon(self, run: _Run, outcome: Outcome) -> None:
        """Report ``outcome`` for the running job and leave its thread behind (lock held)."""
        run.abandoned = True
        self._running = None
        self._on_event(JobDone(run.job.task.id, run.job.token, outcome))
        if not self._stopping:
            self._start_runner()
        self._changed.notify_all()
