"""The handle of a running node: ``Supervisor``, what an application keeps.

Every method validates its input in the caller's thread (bad input never reaches
the actor) and then sends one typed message to the supervisor actor; the one place
errors are translated (``_ask``): only ``ActorsError`` leaves. Creates insert from the
caller's thread and then tell the supervisor (``creates``). Building and wiring
the node is the composition root's (``actors.runtime.node``: ``Supervisor.start``
and ``stop`` delegate to it).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pykka

from .. import messages as msgs
from ..clock import Clock
from ..errors import ActorsError, NodeStopped, Timeout, ValidationError, as_actors_error
from ..feed.bus import EventBus
from ..models import Schedule, Task
from ..requests import check_changes
from ..spec import check_task_id
from ..storage.base import LogRecord, TaskStore
from ..workers import TaskWorker, as_worker
from .bulk import Inspection
from .children import worker_pids
from .creates import Creating, Gate
from .emitter import Emitter
from .hooks import HookMethods
from .maintenance import build_schedule
from .observing import Observing
from .queues import QueueMethods
from .waiters import result_of

if TYPE_CHECKING:
    from ..aio import AsyncSupervisor
    from .children import Waker

__all__ = ["Supervisor"]

log = logging.getLogger("actors")

#: Seconds the ``atexit`` stop of a node the program left running may take.
EXIT_STOP_TIMEOUT = 5.0


class Supervisor(Creating, Inspection, QueueMethods, HookMethods, Observing):
    """A running node: the handle your application keeps.

    Build it with :meth:`start`; use it as a context manager or call :meth:`stop`.

    Example:
        >>> with Supervisor.start("memory://", workers=0) as sup:
        ...     task_id = sup.create_task("REPORT", tags=["weekly"])
        ...     sup.get_task(task_id).status.value
        'pending'
    """

    def __init__(self, *, ref: pykka.ActorRef[Any], store: TaskStore, clock: Clock, workers: list[pykka.ActorRef[Any]],
                 scheduler: Waker | None, node_id: str,
                 gate: Gate | None = None, bus: EventBus | None = None, serving: bool = True) -> None:
        self.ref = ref
        self.store = store
        self.clock = clock
        self.node_id = node_id
        self._workers = workers
        self._scheduler = scheduler
        self._task_workers: dict[str, TaskWorker] = {}
        self._exclusive: set[str] = set()
        self._stopped = False
        self._gate = gate or Gate()  # closed by the supervisor when it stops the node itself
        self._folding = threading.Lock()  # the creates' ``Stored`` batches (``Creating._announce``)
        self._stored: msgs.Stored | None = None
        self._serving = serving  # False (no workers): its supervisor claims nothing, is told no ``Created``
        self._bus = bus or EventBus()  # shared with the supervisor actor (``feed.bus``)
        self._emit = Emitter(self._bus, clock, node_id, {})  # the creates' events
        self._aio: AsyncSupervisor | None = None  # ``aio``, made on first use
        atexit.register(self._stop_at_exit)

    # --- lifecycle ------------------------------------------------------------------------------

    @classmethod
    def start(cls, store: str | os.PathLike[str] | TaskStore = "tasks.db", *, workers: int | None = None,
              lease_ttl: float | timedelta = 30.0, clock: Clock | None = None,
              executor: str = "process", thread_workers: int = 2, max_batch: int = 16,
              synchronous: str = "NORMAL", poll_interval: float = 0.1,
              retention: float | timedelta = timedelta(days=7), max_crashes: int = 3,
              abort_grace: float = 2.0, kill_grace: float = 1.0, timeout: float | None = None,
              rss_limit_mb: int | None = None, max_tasks_per_child: int | None = None,
              node_id: str | None = None, max_restarts: int = 5,
              restart_window: float | timedelta = 10.0, queues: Iterable[str] | None = None) -> Supervisor:
        """Open the store and start a node: supervisor, scheduler, workers.

        Args:
            store: an SQLite file path (default ``tasks.db``), ``":memory:"``,
                ``"memory://"``, ``"postgresql://..."`` or a ``TaskStore``.
            workers: child processes in the pool (default: the number of CPUs);
                ``0`` starts a client-only node that creates and waits but runs nothing.
            lease_ttl: seconds a claim of a node that died stays invisible.
            clock: a ``ManualClock`` turns the scheduler off; call :meth:`tick`.
            executor: ``"process"`` (default), ``"thread"`` or ``"inline"`` (tests:
                tasks run in the worker actor's thread, one at a time).
            thread_workers: slots for workers registered with ``isolation="thread"``.
            max_batch: most jobs a worker holds at once (batching; raise for tiny tasks).
            synchronous: SQLite ``NORMAL`` (survives a process crash) or ``FULL``
                (survives power loss).
            poll_interval: the longest the scheduler sleeps (notices other processes' writes).
            retention: how long finished tasks are kept before they are pruned.
            max_crashes: crashes (dead process, expired lease) before a task is quarantined.
            abort_grace: seconds a cancelled task may take to stop before it is killed.
            kill_grace: seconds between a timeout's cooperative abort and the kill.
            timeout: default seconds an attempt may run on this node when neither the task
                nor its worker sets a timeout (task > worker > node; None: no limit). It is
                applied when the attempt starts and not stored: ``task.timeout`` stays None.
                An attempt past it times out like any other (retried or failed per policy).
            rss_limit_mb: a child whose memory (RSS, with its descendants) passes this many MiB
                while a task runs is killed; the attempt ends as a crash naming the limit.
            max_tasks_per_child: recycle a child after this many tasks.
            node_id: this node's id in leases (default: host, pid and a random suffix).
            max_restarts: restart intensity. A child (worker actor, scheduler) that dies is
                restarted; more than ``max_restarts`` restarts within ``restart_window``
                seconds and the node stops itself (claims given back; every later call
                raises ``NodeStopped`` naming the reason).
            restart_window: the seconds ``max_restarts`` counts over.
            queues: claim only tasks of these queues (default: every queue; ``"default"`` holds
                the tasks without one). Queue settings: :meth:`set_queue`.

        Raises:
            ValidationError: a bad setting (named). StoreError: the store cannot be opened.
        """
        from .node import start_node

        return start_node(cls, store, workers=workers, lease_ttl=lease_ttl, clock=clock, executor=executor,
                          thread_workers=thread_workers, max_batch=max_batch, synchronous=synchronous,
                          poll_interval=poll_interval, retention=retention, max_crashes=max_crashes,
                          abort_grace=abort_grace, kill_grace=kill_grace, timeout=timeout,
                          rss_limit_mb=rss_limit_mb, max_tasks_per_child=max_tasks_per_child,
                          node_id=node_id, max_restarts=max_restarts, restart_window=restart_window,
                          queues=queues)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully: no new claims; running tasks get ``timeout`` seconds to finish
        (then they are killed and counted as crashed); everything not finished goes back
        to the store as PENDING. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        from .node import stop_node

        try:
            stop_node(self, timeout)
        finally:
            if self._aio is not None:
                self._aio.close()

    def _stop_at_exit(self) -> None:
        """``atexit``: stop a node the program left running, bounded in time (its claims go
        back to the store); never hangs, even if the supervisor is dead."""
        if not self._stopped:
            from .node import stop_at_exit

            stop_at_exit(self, EXIT_STOP_TIMEOUT)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _ask(self, message: object, *, stopping: bool = False) -> Any:
        """Send ``message`` to the supervisor actor and return its reply.

        The one place errors are translated: only ``ActorsError`` leaves (a stopped node:
        ``NodeStopped``; a driver's error: ``StoreError``; anything else: ``ActorsError``
        with the original text).
        """
        if self._stopped and not stopping:
            raise NodeStopped()
        try:
            return self.ref.ask(message)
        except ActorsError:
            raise
        except pykka.ActorDeadError:
            raise NodeStopped("the supervisor actor is gone") from None
        except Exception as exc:
            raise as_actors_error(exc) from exc

    def _tell(self, message: object) -> None:
        """Send ``message`` without waiting; ``NodeStopped`` if the node is stopped."""
        if self._stopped:
            raise NodeStopped()
        try:
            self.ref.tell(message)
        except pykka.ActorDeadError:
            raise NodeStopped("the supervisor actor is gone") from None

    # --- workers ----------------------------------------------------------------------------------

    def register_task_worker(self, worker: TaskWorker | Mapping[str, Any], *,
                             exclusive: bool = False) -> TaskWorker:
        """Serve tasks of ``worker.name`` on this node. Returns the worker.

        Registering a name again replaces the first worker, with a warning — unless
        the first was registered ``exclusive`` (a dispatcher such as
        ``AffinityDrains``): then this raises ``ValidationError`` and nothing changes.
        A periodic worker (``frequency`` / ``cron``) makes sure its schedule, keyed by its
        name, exists (inserted once across nodes and restarts; see ``runtime.hooks``).
        """
        task_worker = as_worker(worker)
        if task_worker.name in self._exclusive and self._task_workers.get(task_worker.name) is not task_worker:
            raise ValidationError("name", task_worker.name,
                                  "is registered exclusively (a dispatcher); it cannot be replaced")
        if exclusive:
            self._exclusive.add(task_worker.name)
        self._tell(msgs.RegisterWorker(task_worker))
        self._task_workers[task_worker.name] = task_worker
        self._ensure_periodic(task_worker)
        return task_worker

    def get_task_worker(self, name: str) -> TaskWorker | None:
        """The worker registered under ``name`` on this node, or None."""
        if self._stopped:
            raise NodeStopped()
        return self._task_workers.get(name)

    # --- schedules --------------------------------------------------------------------------------

    def schedule(self, name: str, *, cron: str | None = None, every: float | timedelta | None = None,
                 key: str | None = None, **fields: Any) -> Schedule:
        """Create (or replace, by ``key``) a schedule that creates a ``name`` task per fire time.

        Give ``cron`` (``"*/5 * * * *"``, or six fields with seconds first; UTC) or
        ``every`` (seconds). ``key`` (default ``name``) identifies the schedule; other
        keywords are ``create_task``'s (``metadata``, ``priority``, ...). Each fire time
        creates one task in the store however many nodes serve it: the leader node
        fires, and firings are recorded unique per (key, fire time). Missed fire times
        (no node up) fire late, the newest ``MAX_CATCH_UP`` of them.

        Raises:
            ValidationError: a bad expression, period, key or task field (named).
        """
        built = build_schedule(name, cron=cron, every=every, key=key, fields=fields, now=self.clock.now())
        stored: Schedule = self._ask(msgs.PutSchedule(built))
        return stored

    def get_schedules(self) -> list[Schedule]:
        """Every schedule in the store, by key."""
        schedules: list[Schedule] = self._ask(msgs.GetSchedules())
        return schedules

    def delete_schedule(self, key: str) -> bool:
        """Remove a schedule (tasks it already created stay); False if there was none."""
        return bool(self._ask(msgs.DeleteSchedule(key)))

    # --- reading ----------------------------------------------------------------------------------

    def get_task(self, task_id: str) -> Task | None:
        """The task, or None."""
        result: Task | None = self._ask(msgs.GetTask(check_task_id(task_id)))
        return result

    def get_tasks_by_name(self, name: str) -> list[Task]:
        """Every task named ``name``."""
        return self.get_tasks(name=name)

    def logs(self, task_id: str, iteration: int | None = None) -> list[LogRecord]:
        """What the task wrote to ``ctx.log``, oldest first: of one ``iteration`` (1 for its first
        run; each record carries its ``attempt`` and ``iteration``), or all of them (None).

        Raises:
            ValidationError: a bad ``task_id``, or an ``iteration`` that is not an int >= 1.
        """
        if iteration is not None and (isinstance(iteration, bool) or not isinstance(iteration, int)
                                      or iteration < 1):
            raise ValidationError("iteration", iteration, "must be an int >= 1 or None")
        result: list[LogRecord] = self._ask(msgs.GetLogs(check_task_id(task_id), iteration))
        return result

    def stats(self) -> dict[str, Any]:
        """Counts by status (``"tasks"``) and per queue (``"queues"``: queue name → its count of
        each status, then ``QueueInfo.as_dict()``: its limits, ``paused`` (the queue's flag; its
        PAUSED tasks are ``counts["paused"]``), ``running`` and ``counts``; every declared queue
        and every queue with tasks, a task without a queue under ``"default"``),
        workers (``"busy"`` / ``"idle"``: this node's worker slots with / without a task in
        hand), orphaned tasks (no worker here), fenced writes, health."""
        result: dict[str, Any] = self._ask(msgs.GetStats())
        return result

    # --- changing ---------------------------------------------------------------------------------

    def update_task(self, task_id: str, **changes: Any) -> Task:
        """Change fields of a task (metadata is replaced whole).

        A new ``update_interval`` (or the seeds' ``metadata={"updateInterval": ms}``) takes
        effect at once: a PENDING task is then due at its last run's end (its creation if it
        never ran) + the new interval, or now if that has passed.

        Raises:
            TaskNotFound: no such task. ValidationError: a bad field or value.
        """
        check_changes(changes)  # here first, so bad input never reaches the actor (which checks again)
        result: Task = self._ask(msgs.UpdateTask(check_task_id(task_id), changes))
        return result

    def delete_task(self, task_id: str) -> bool:
        """Remove a task (a running one is cancelled first). False if there was none."""
        result: bool = self._ask(msgs.DeleteTask(check_task_id(task_id)))
        return result

    def pause_task(self, task_id: str) -> Task:
        """Pause a task (a running one pauses when its attempt ends)."""
        result: Task = self._ask(msgs.PauseTask(check_task_id(task_id)))
        return result

    def resume_task(self, task_id: str) -> Task:
        """Resume a paused task (its failure count starts again from 0)."""
        result: Task = self._ask(msgs.ResumeTask(check_task_id(task_id)))
        return result

    def cancel_task(self, task_id: str) -> Task:
        """Cancel a task; a running attempt is aborted (killed after ``abort_grace``)."""
        result: Task = self._ask(msgs.CancelTask(check_task_id(task_id)))
        return result

    # --- waiting ----------------------------------------------------------------------------------

    def wait(self, task_id: str, timeout: float | None = None) -> Any:
        """Block until the task settles and return its result.

        One-time tasks settle when they finish; a recurring task when its next run ends.

        Raises:
            TaskNotFound: no such task. TaskFailed: it failed for good (or its run failed).
            TaskCancelled: it was cancelled or deleted. Timeout: ``timeout`` seconds passed.
        """
        future = self._watch(check_task_id(task_id))
        try:
            task = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            self._unwatch(task_id, future)
            raise Timeout(f"task {task_id} did not finish within {timeout}s") from None
        return result_of(task_id, task)

    def _watch(self, task_id: str) -> concurrent.futures.Future[Any]:
        """A future the supervisor resolves when the task settles (``result_of`` reads it)."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._tell(msgs.Watch(task_id, future))
        return future

    def _unwatch(self, task_id: str, future: concurrent.futures.Future[Any]) -> None:
        with contextlib.suppress(NodeStopped):
            self._tell(msgs.Unwatch(task_id, future))

    def join(self, timeout: float = 30.0) -> None:
        """Block until this node holds no claimed task (tests and scripts).

        Raises:
            Timeout: work is still held after ``timeout`` seconds.
        """
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._tell(msgs.WhenIdle(future))
        try:
            future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise Timeout(f"still busy after {timeout}s") from None

    def tick(self, now: float | None = None) -> None:
        """Let time pass now: claim due work, run maintenance (for a ``ManualClock``)."""
        self._ask(msgs.Tick(self.clock.now() if now is None else now))

    def worker_pids(self) -> list[int]:
        """Process ids of the pool's children (for tests and monitoring)."""
        if self._stopped:
            raise NodeStopped()
        self.stats()  # NodeStopped if the node stopped itself
        return worker_pids(self._workers)

