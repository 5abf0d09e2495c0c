"""The composition root: ``Supervisor.start(store, ...)`` builds and wires one node.

This is the only module that picks concrete stores and executors. The returned
``Supervisor`` is a handle: every method validates its input in the caller's
thread (bad input never reaches the actor) and then sends one typed message to
the supervisor actor.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import functools
import logging
import math
import os
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any

import pykka

from .clock import Clock, ManualClock, SystemClock
from .creating import validated_task
from .errors import (
    ActorsError,
    NodeStopped,
    StoreError,
    TaskCancelled,
    TaskFailed,
    TaskNotFound,
    Timeout,
    ValidationError,
    as_actors_error,
)
from .execution.base import Creator, EventSink, Executor, ExecutorFactory
from .maintenance import build_schedule
from .messages import (
    Attach,
    CancelTask,
    CreateTasks,
    DeleteSchedule,
    DeleteTask,
    GetLogs,
    GetSchedules,
    GetStats,
    GetTask,
    GetTasks,
    PauseTask,
    PutSchedule,
    RegisterWorker,
    Release,
    ReleaseAll,
    ResumeTask,
    Shutdown,
    StopWorker,
    Tick,
    Unwatch,
    UpdateTask,
    Watch,
    WhenIdle,
    WorkerSlot,
)
from .models import Schedule, Task, TaskStatus
from .requests import check_changes, task_query
from .scheduler import Scheduler
from .spec import (
    TaskSpec,
    coerce_spec,
    new_ids,
    seconds,
)
from .storage.base import LogRecord, TaskStore, subscribable
from .supervisor import DELETED, SupervisorActor, SupervisorConfig
from .worker_actor import WorkerActor
from .workers import TaskWorker, as_worker

__all__ = ["Supervisor", "open_store"]

log = logging.getLogger("actors")

EXECUTORS = ("process", "thread", "inline")


def open_store(store: str | os.PathLike[str] | TaskStore, *, synchronous: str = "NORMAL") -> TaskStore:
    """The store a ``Supervisor.start`` argument names.

    ``"memory://"``: in memory (lost on exit); ``"postgresql://..."``: PostgreSQL
    (``pip install actors[postgres]``; a ``schema=NAME`` query parameter picks the
    schema holding the tables, default ``actors``); anything else: an SQLite file path
    (``":memory:"`` included). A ``TaskStore`` instance is used as is.
    """
    if not isinstance(store, (str, os.PathLike)):
        return store
    target = os.fspath(store)
    if target == "memory://":
        from .storage.memory import MemoryStore

        return MemoryStore()
    if target.startswith(("postgresql://", "postgres://")):
        try:
            from .storage.postgres import PostgresStore  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise StoreError(
                f"PostgreSQL store unavailable ({exc}); install it with: pip install 'actors[postgres]'"
            ) from None
        dsn, schema = _split_schema(target)
        return PostgresStore(dsn, schema=schema)  # type: ignore[no-any-return,unused-ignore]
    if target.startswith("sqlite:///"):
        target = target[len("sqlite:///"):]
    from .storage.sqlite import SQLiteStore

    return SQLiteStore(target, synchronous=synchronous)


def _split_schema(url: str) -> tuple[str, str]:
    """``(url without its schema parameter, schema)`` of a PostgreSQL URL (libpq knows no ``schema``)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    rest = urllib.parse.urlencode([(key, value) for key, value in query if key != "schema"])
    if len(schemas) > 1:
        raise ValidationError("schema", schemas, "given more than once in the store URL")
    return urllib.parse.urlunsplit(parts._replace(query=rest)), schemas[0] if schemas else "actors"


def _executor_factory(kind: str, executor: str, options: Mapping[str, Any], create: Creator) -> ExecutorFactory:
    """What builds the executor of one worker actor; ``create`` is its tasks' ``ctx.create_task``."""
    if executor == "inline":
        from .execution.inline import InlineExecutor

        return functools.partial(InlineExecutor, create=create)
    if kind == "thread" or executor == "thread":
        from .execution.thread import ThreadExecutor

        return functools.partial(ThreadExecutor, create=create)
    from .execution.process import ProcessExecutor

    def make(on_event: EventSink) -> Executor:
        return ProcessExecutor(on_event, create=create, **options)

    return make


def _worker_slots(kinds: list[str], refs: list[pykka.ActorRef[Any]],
                  restarts: list[Any] | None = None) -> list[WorkerSlot]:
    """The workers as the supervisor sees them, once each has started its execution slot (the
    actors start them in parallel): with its executor's ``submit`` when that may be called
    directly, and (``restarts``) how to start a replacement.

    Raises:
        ChildStartError: a worker could not start its slot (its actor logged why and stopped).
    """
    slots = []
    for index, (kind, ref) in enumerate(zip(kinds, refs, strict=True)):
        try:
            slots.append(WorkerSlot(kind, ref, ref.proxy().direct_submit.get(),
                                    restarts[index] if restarts else None))
        except pykka.ActorDeadError:
            from .execution.process import ChildStartError

            raise ChildStartError(f"a {kind} worker could not start its execution slot "
                                  "(the log has the cause)") from None
    return slots


def _restarter(index: int, kind: str, factory: ExecutorFactory, sup_ref: pykka.ActorRef[Any],
               refs: list[pykka.ActorRef[Any]]) -> Any:
    """What the supervisor calls to replace worker ``index`` (it died): starts a new worker
    actor, puts it in ``refs`` (the handle's list: ``stop`` and ``worker_pids`` see it)."""
    def restart() -> WorkerSlot:
        ref = WorkerActor.start(kind, factory, sup_ref)
        refs[index] = ref
        return _worker_slots([kind], [ref], [restart])[0]

    return restart


#: Seconds the ``atexit`` stop of a node the program left running may take.
EXIT_STOP_TIMEOUT = 5.0


def _positive_int(field: str, value: object, *, allow_zero: bool = True) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise ValidationError(field, value, "must be an int >= " + ("0" if allow_zero else "1"))
    return value


class Supervisor:
    """A running node: the handle your application keeps.

    Build it with :meth:`start`; use it as a context manager or call :meth:`stop`.

    Example:
        >>> with Supervisor.start("memory://", workers=0) as sup:
        ...     task_id = sup.create_task("REPORT", tags=["weekly"])
        ...     sup.get_task(task_id).status.value
        'pending'
    """

    def __init__(self, *, ref: pykka.ActorRef[Any], store: TaskStore, clock: Clock,
                 workers: list[pykka.ActorRef[Any]],
                 scheduler: Scheduler | None, node_id: str, default_timeout: float | None) -> None:
        self.ref = ref
        self.store = store
        self.clock = clock
        self.node_id = node_id
        self._workers = workers
        self._scheduler = scheduler
        self._task_workers: dict[str, TaskWorker] = {}
        self._exclusive: set[str] = set()
        self._default_timeout = default_timeout
        self._stopped = False
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
              restart_window: float | timedelta = 10.0) -> Supervisor:
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
            max_restarts / restart_window: restart intensity. A child (worker actor,
                scheduler) that dies is restarted; more than ``max_restarts`` restarts
                within ``restart_window`` seconds and the node stops itself (claims given
                back; every later call raises ``NodeStopped`` naming the reason).

        Raises:
            ValidationError: a bad setting (named). StoreError: the store cannot be opened.
        """
        count = (os.cpu_count() or 1) if workers is None else _positive_int("workers", workers)
        _positive_int("thread_workers", thread_workers)
        _positive_int("max_batch", max_batch, allow_zero=False)
        _positive_int("max_crashes", max_crashes, allow_zero=False)
        if max_tasks_per_child is not None:
            _positive_int("max_tasks_per_child", max_tasks_per_child, allow_zero=False)
        if rss_limit_mb is not None and (isinstance(rss_limit_mb, bool) or not isinstance(rss_limit_mb, (int, float))
                                         or not 0 < rss_limit_mb < math.inf):
            raise ValidationError("rss_limit_mb", rss_limit_mb, "must be a number of MiB > 0, or None")
        seconds("kill_grace", kill_grace, allow_zero=True)
        seconds("abort_grace", abort_grace, allow_zero=True)
        ttl = seconds("lease_ttl", lease_ttl, allow_zero=False)
        keep = seconds("retention", retention, allow_zero=True)
        seconds("poll_interval", poll_interval, allow_zero=False)
        default_timeout = seconds("timeout", timeout, allow_zero=False)
        _positive_int("max_restarts", max_restarts)
        window = seconds("restart_window", restart_window, allow_zero=False)
        if executor not in EXECUTORS:
            raise ValidationError("executor", executor, f"must be one of {EXECUTORS}")
        if str(synchronous).upper() not in ("NORMAL", "FULL"):
            raise ValidationError("synchronous", synchronous, "must be 'NORMAL' or 'FULL'")
        assert ttl is not None and keep is not None and window is not None
        clock = clock or SystemClock()
        node = node_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        task_store = open_store(store, synchronous=str(synchronous).upper())
        serving = count > 0
        # twice what the workers hold: the next batch waits in the supervisor's pool, claimed and ready
        slots = {"process": 2 * count * max_batch, "thread": 2 * thread_workers * max_batch} if serving else {}
        info = {"host": socket.gethostname(), "pid": os.getpid(), "workers": count,
                "thread_workers": thread_workers if serving else 0}
        pool = {"process": count, "thread": thread_workers} if serving else {}
        config = SupervisorConfig(node_id=node, lease_ttl=ttl, slots=slots, pool=pool, max_crashes=max_crashes,
                                  retention=keep, abort_grace=abort_grace, serving=serving, info=info,
                                  max_batch=max_batch, default_timeout=default_timeout,
                                  max_restarts=max_restarts, restart_window=window)
        sup_ref = SupervisorActor.start(task_store, clock, config)
        refs: list[pykka.ActorRef[Any]] = []
        kinds: list[str] = []
        restarts: list[Any] = []
        # the handle first: the executors' ``ctx.create_task`` goes through its create path
        handle = cls(ref=sup_ref, store=task_store, clock=clock, workers=refs,
                     scheduler=None, node_id=node, default_timeout=default_timeout)
        options = {"kill_grace": kill_grace, "rss_limit_mb": rss_limit_mb,
                   "max_tasks_per_child": max_tasks_per_child}
        try:
            if serving:
                for kind, n in (("process", count), ("thread", thread_workers)):
                    factory = _executor_factory(kind, executor, options, handle._create_chained)
                    for _ in range(n):
                        restarts.append(_restarter(len(refs), kind, factory, sup_ref, refs))
                        refs.append(WorkerActor.start(kind, factory, sup_ref))
                        kinds.append(kind)
            scheduler = None
            if not isinstance(clock, ManualClock):
                scheduler = Scheduler(sup_ref, clock, poll_interval).start()
                subscribe = task_store.subscribe if subscribable(task_store) else None
                if subscribe is not None and serving:
                    wake = scheduler.wake_at
                    subscribe(lambda due: wake(clock.now() if due is None else due))
            handle._scheduler = scheduler
            sup_ref.tell(Attach(_worker_slots(kinds, refs, restarts), scheduler))
        except BaseException:
            atexit.unregister(handle._stop_at_exit)
            for ref in refs:
                ref.stop(block=False)
            sup_ref.stop()
            raise
        return handle

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully: no new claims; running tasks get ``timeout`` seconds to finish
        (then they are killed and counted as crashed); everything not finished goes back
        to the store as PENDING. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self._stop_at_exit)
        if self._scheduler is not None:
            self._scheduler.stop()
        try:
            self._ask(Shutdown(), stopping=True)
            futures = []
            for ref in list(self._workers):
                try:
                    futures.append(ref.ask(StopWorker(timeout), block=False))
                except pykka.ActorDeadError:
                    continue  # died or stopped already (the supervisor gave its claims back)
            for future in futures:
                try:
                    unstarted = future.get(timeout=timeout + 10)
                except pykka.ActorDeadError:
                    continue
                except Exception:  # a worker that failed to stop: its claims are released below
                    log.exception("a worker did not stop cleanly")
                    continue
                if unstarted:
                    self._ask(Release(list(unstarted)), stopping=True)
            for ref in list(self._workers):
                ref.stop(block=True, timeout=timeout + 5)
            self._ask(ReleaseAll(), stopping=True)
        except NodeStopped:
            pass  # the supervisor is gone: its leases expire and another node takes the tasks
        finally:
            self.ref.stop(block=True, timeout=timeout + 5)

    def _stop_at_exit(self) -> None:
        """``atexit``: stop a node the program left running, bounded in time (its claims go
        back to the store); never hangs, even if the supervisor is dead."""
        if self._stopped:
            return
        thread = threading.Thread(target=self.stop, kwargs={"timeout": EXIT_STOP_TIMEOUT / 2}, daemon=True,
                                  name="actors-atexit-stop")
        thread.start()
        thread.join(EXIT_STOP_TIMEOUT)
        if thread.is_alive():
            log.warning("node %s did not stop within %ss at exit; its leases expire on their own",
                        self.node_id, EXIT_STOP_TIMEOUT)

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
        """
        task_worker = as_worker(worker)
        if task_worker.name in self._exclusive and self._task_workers.get(task_worker.name) is not task_worker:
            raise ValidationError("name", task_worker.name,
                                  "is registered exclusively (a dispatcher); it cannot be replaced")
        if exclusive:
            self._exclusive.add(task_worker.name)
        self._tell(RegisterWorker(task_worker))
        self._task_workers[task_worker.name] = task_worker
        return task_worker

    def get_task_worker(self, name: str) -> TaskWorker | None:
        """The worker registered under ``name`` on this node, or None."""
        if self._stopped:
            raise NodeStopped()
        return self._task_workers.get(name)

    # --- creating ---------------------------------------------------------------------------------

    def _build(self, spec: TaskSpec, task_id: str, parent_id: str | None = None) -> Task:
        worker = self._task_workers.get(spec.name) if isinstance(spec.name, str) else None
        return validated_task(spec, task_id=task_id, now=self.clock.now(), worker=worker, supervisor=self,
                              parent_id=parent_id)

    def create_task(self, name: str, **fields: Any) -> str:
        """Store a new task and return its id. Keyword names as in ``TaskSpec``.

        Raises:
            ValidationError: bad input, named with its value; nothing is stored.
        """
        return self.create_tasks([TaskSpec(name=name, **fields)])[0]

    def create_tasks(self, specs: Iterable[TaskSpec | Mapping[str, Any]]) -> list[str]:
        """Store many tasks in one transaction; all or nothing. Returns their ids in order."""
        return self._create(list(specs))

    def _create(self, given: list[TaskSpec | Mapping[str, Any]], parent_id: str | None = None) -> list[str]:
        fresh = new_ids(len(given))
        tasks = [self._build(coerce_spec(spec, index), fresh[index], parent_id) for index, spec in enumerate(given)]
        if not tasks:
            if self._stopped:
                raise NodeStopped()
            return []
        ids: list[str] = self._ask(CreateTasks(tasks))
        return ids

    def _create_chained(self, parent_id: str, spec: dict[str, Any]) -> str:
        """The executors' ``Creator`` (``ctx.create_task`` of task ``parent_id``): the same create
        path as ``create_task``, run in the calling thread (an executor's, never the supervisor
        actor's); only ``ActorsError`` leaves it."""
        try:
            return self._create([spec], parent_id)[0]
        except ActorsError:
            raise
        except Exception as exc:  # the node stopped under the running task (pykka.ActorDeadError)
            raise ActorsError(f"ctx.create_task: the task could not be created: {type(exc).__name__}: "
                              f"{exc}") from exc

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
        stored: Schedule = self._ask(PutSchedule(built))
        return stored

    def get_schedules(self) -> list[Schedule]:
        """Every schedule in the store, by key."""
        schedules: list[Schedule] = self._ask(GetSchedules())
        return schedules

    def delete_schedule(self, key: str) -> bool:
        """Remove a schedule (tasks it already created stay); False if there was none."""
        return bool(self._ask(DeleteSchedule(key)))

    # --- reading ----------------------------------------------------------------------------------

    def get_task(self, task_id: str) -> Task | None:
        """The task, or None."""
        result: Task | None = self._ask(GetTask(task_id))
        return result

    def get_tasks(self, *, room_id: str | None = None, world_id: str | None = None,
                  entity_id: str | None = None, tags: Sequence[str] | None = None, name: str | None = None,
                  status: TaskStatus | str | Sequence[TaskStatus | str] | None = None,
                  limit: int | None = None) -> list[Task]:
        """Tasks matching every given filter (``tags``: a task must carry all of them)."""
        query = task_query(room_id=room_id, world_id=world_id, entity_id=entity_id, tags=tags, name=name,
                           status=status, limit=limit)
        result: list[Task] = self._ask(GetTasks(query))
        return result

    def get_tasks_by_name(self, name: str) -> list[Task]:
        """Every task named ``name``."""
        return self.get_tasks(name=name)

    def logs(self, task_id: str) -> list[LogRecord]:
        """What the task wrote to ``ctx.log``, attempt by attempt."""
        result: list[LogRecord] = self._ask(GetLogs(task_id))
        return result

    def stats(self) -> dict[str, Any]:
        """Counts by status (``"tasks"``) and per queue (``"queues"``: queue → status → count, a
        task without a queue under ``"default"``), workers (``"busy"`` / ``"idle"``: this node's
        worker slots with / without a task in hand), orphaned tasks (no worker here), fenced
        writes, health."""
        result: dict[str, Any] = self._ask(GetStats())
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
        result: Task = self._ask(UpdateTask(task_id, changes))
        return result

    def delete_task(self, task_id: str) -> bool:
        """Remove a task (a running one is cancelled first). False if there was none."""
        result: bool = self._ask(DeleteTask(task_id))
        return result

    def pause_task(self, task_id: str) -> Task:
        """Pause a task (a running one pauses when its attempt ends)."""
        result: Task = self._ask(PauseTask(task_id))
        return result

    def resume_task(self, task_id: str) -> Task:
        """Resume a paused task (its failure count starts again from 0)."""
        result: Task = self._ask(ResumeTask(task_id))
        return result

    def cancel_task(self, task_id: str) -> Task:
        """Cancel a task; a running attempt is aborted (killed after ``abort_grace``)."""
        result: Task = self._ask(CancelTask(task_id))
        return result

    # --- waiting ----------------------------------------------------------------------------------

    def wait(self, task_id: str, timeout: float | None = None) -> Any:
        """Block until the task settles and return its result.

        One-time tasks settle when they finish; a recurring task when its next run ends.

        Raises:
            TaskNotFound: no such task. TaskFailed: it failed for good (or its run failed).
            TaskCancelled: it was cancelled or deleted. Timeout: ``timeout`` seconds passed.
        """
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._tell(Watch(task_id, future))
        try:
            task = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            with contextlib.suppress(NodeStopped):
                self._tell(Unwatch(task_id, future))
            raise Timeout(f"task {task_id} did not finish within {timeout}s") from None
        if task is None:
            raise TaskNotFound(task_id)
        if task == DELETED or task.status is TaskStatus.CANCELLED:
            raise TaskCancelled(task_id)
        if task.status is TaskStatus.FAILED or (task.recurring and task.failure_count > 0):
            raise TaskFailed(task_id, task.error, task.attempts)
        return task.result

    def join(self, timeout: float = 30.0) -> None:
        """Block until this node holds no claimed task (tests and scripts).

        Raises:
            Timeout: work is still held after ``timeout`` seconds.
        """
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._tell(WhenIdle(future))
        try:
            future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise Timeout(f"still busy after {timeout}s") from None

    def tick(self, now: float | None = None) -> None:
        """Let time pass now: claim due work, run maintenance (for a ``ManualClock``)."""
        self._ask(Tick(self.clock.now() if now is None else now))

    def worker_pids(self) -> list[int]:
        """Process ids of the pool's children (for tests and monitoring)."""
        if self._stopped:
            raise NodeStopped()
        self.stats()  # NodeStopped if the node stopped itself
        pids = []
        for ref in list(self._workers):
            try:
                pid = ref.proxy().pid.get()
            except pykka.ActorDeadError:
                continue  # dead: being replaced
            if pid is not None:
                pids.append(pid)
        return pids

