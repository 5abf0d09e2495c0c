"""Durable drains: a repeat task in the store that calls a drain function, and drain actors.

- :class:`TaskDrain` — find-or-create ONE recurring task tagged ``queue`` + ``repeat``
  (``max_failures = -1``: a drain never auto-pauses) whose worker calls
  ``on_drain(supervisor)``; when a drain processed nothing the next run waits
  ``idle_interval`` instead (ElizaOS ``TaskDrain``, ELIZA_SPEC §5).
- :class:`AffinityDrains` — several drains, one per affinity key, share ONE
  registered worker name (e.g. ``BATCHER_DRAIN``). The worker reads
  ``metadata.affinity_key`` (or the seeds' ``affinityKey``) and hands the run to
  the drain actor that owns the key; an actor handles one message at a time, so
  one key never drains twice at once while different keys drain in parallel
  (ELIZA_SPEC §8).

The supervisor is used through its public methods only (duck-typed), so this
module needs no store and no backend. Drain workers run with
``isolation="thread"``: a drain function works on in-process objects.

A drain row is a task like any other: its worker is a plain ``TaskWorker``, so the worker's
hooks (``worker_options``, forwarded to ``TaskWorker``: ``on_start``, ``on_success``,
``middleware``, ``catch_error``, ``retry``, ``timeout``, ...) and the node's ``sup.use`` /
``sup.on`` run around every drain run; there is no second lifecycle here. A drain function with
a ``ctx`` parameter gets the run's ``TaskContext`` (``ctx.step``, ``ctx.log``, ``ctx.progress``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import pykka

from ..errors import ActorsError, ValidationError
from ..models import Task
from ._drain_worker import call_drain, check_worker_options, drain_worker
from ._drain_worker import check_interval as _interval

__all__ = ["AffinityDrains", "DrainFn", "TaskDrain"]

log = logging.getLogger("actors.drain")

#: ``on_drain(supervisor) -> int | None``, or ``on_drain(supervisor, ctx) -> int | None`` (a
#: parameter named ``ctx`` gets the drain run's ``TaskContext``, passed as ``ctx=``).
DrainFn = Callable[..., Any]
DRAIN_TAGS = ("queue", "repeat")


class TaskDrain:
    """One recurring drain task in the store.

    Args:
        task_name: the task (and worker) name.
        interval: seconds between drains.
        description: the task's description (default ``Repeat drain: <name>``).
        task_metadata: keys that identify this drain's row (and are stored on it).
        skip_register_worker: do not register a worker (another one serves the name,
            as :class:`AffinityDrains` does).
        on_drain: ``on_drain(supervisor) -> int | None``: the drain itself; required
            unless ``skip_register_worker``. With a parameter named ``ctx`` it is called
            ``on_drain(supervisor, ctx=ctx)``, ``ctx`` the run's ``TaskContext``.
        idle_interval: seconds to wait after a drain that returned 0.
        worker_options: ``TaskWorker`` fields for the drain's worker (hooks, middleware,
            ``catch_error``, ``retry``, ``timeout``, ``schema``, ``title``, ...), forwarded
            as given; not ``name``, ``execute``, ``isolation`` (the drain's own) nor
            ``frequency`` / ``cron`` (the row is its own schedule).

    Raises:
        ValidationError: a bad interval, or bad ``worker_options`` (an unknown or owned field,
            a value ``TaskWorker`` refuses, options with ``skip_register_worker``), named.
    """

    def __init__(self, task_name: str, interval: float, *, description: str | None = None,
                 task_metadata: Mapping[str, Any] | None = None, skip_register_worker: bool = False,
                 on_drain: DrainFn | None = None, idle_interval: float | None = None,
                 worker_options: Mapping[str, Any] | None = None) -> None:
        self.task_name = task_name
        self._worker_options = check_worker_options(worker_options, registers=not skip_register_worker)
        self._interval = _interval("interval", interval)
        self._idle = None if idle_interval is None else _interval("idle_interval", idle_interval)
        self.description = description or f"Repeat drain: {task_name}"
        self.task_metadata = dict(task_metadata or {})
        self.skip_register_worker = skip_register_worker
        self._on_drain = on_drain
        self._id: str | None = None
        self._disposed = False
        self._sup: Any = None

    @property
    def id(self) -> str | None:
        """The drain task's id (None before ``start`` or after ``dispose``)."""
        return self._id

    @property
    def interval(self) -> float:
        return self._interval

    def start(self, sup: Any) -> str | None:
        """Register the worker (unless skipped) and find or create the drain row.

        Rows that match (tags ``queue`` + ``repeat``, the same name, every
        ``task_metadata`` key equal) are de-duplicated: the first is kept, the rest
        deleted. No-op after ``dispose``. Returns the row's id.

        Raises:
            ActorsError: ``on_drain`` is missing while the worker is to be registered.
        """
        if self._disposed:
            return None
        self._sup = sup
        if not self.skip_register_worker:
            if self._on_drain is None:
                raise ActorsError("TaskDrain: on_drain is required when the worker is registered")
            sup.register_task_worker(drain_worker(self.task_name, self._execute, self._worker_options))
        matches = [task for task in sup.get_tasks(name=self.task_name, tags=list(DRAIN_TAGS))
                   if all(task.metadata.get(k) == v for k, v in self.task_metadata.items())]
        if matches:
            self._id = matches[0].id
            for extra in matches[1:]:
                try:
                    sup.delete_task(extra.id)
                except Exception:
                    log.exception("TaskDrain %s: could not delete duplicate row %s", self.task_name, extra.id)
            self.update_interval(sup, self._interval)
            return self._id
        ms = self._interval * 1000
        self._id = sup.create_task(
            self.task_name, description=self.description, tags=list(DRAIN_TAGS),
            metadata={**self.task_metadata, "updateInterval": ms, "baseInterval": ms},
            update_interval=self._interval, max_failures=-1)
        return self._id

    def update_interval(self, sup: Any, interval: float) -> None:
        """Change the interval; writes only when it changed. A row deleted meanwhile is not
        recreated (the id is cleared)."""
        self._interval = _interval("interval", interval)
        if self._id is None:
            return
        task: Task | None = sup.get_task(self._id)
        if task is None:
            self._id = None
            return
        if task.update_interval == self._interval:
            return
        ms = self._interval * 1000
        sup.update_task(self._id, update_interval=self._interval,
                        metadata={**task.metadata, "updateInterval": ms, "baseInterval": ms})

    def dispose(self, sup: Any) -> None:
        """Delete the row; never raises (a failure is logged). The worker stays registered."""
        self._disposed = True
        task_id, self._id = self._id, None
        if task_id is None:
            return
        try:
            sup.delete_task(task_id)
        except Exception:
            log.exception("TaskDrain.dispose: could not delete drain task %s", task_id)

    def _execute(self, ctx: Any, options: dict[str, Any], task: Task) -> Any:
        assert self._on_drain is not None
        count = call_drain(self._on_drain, self._sup, ctx)
        return next_interval(count, self._interval, self._idle)


def next_interval(count: Any, interval: float, idle: float | None) -> dict[str, float] | None:
    """The drain worker's return value: ``{"nextInterval": ms}`` when an idle interval is set."""
    if idle is None or isinstance(count, bool) or not isinstance(count, (int, float)):
        return None
    return {"nextInterval": (interval if count > 0 else idle) * 1000}


# --- drain actors sharing one worker name ------------------------------------------------


class RunDrain(NamedTuple):
    """Run the key's drain once. Reply: what ``on_drain`` returned."""

    supervisor: Any
    ctx: Any = None  # the dispatching run's TaskContext (handed on to an on_drain with ``ctx``)


class _DrainActor(pykka.ThreadingActor):
    """Owns one affinity key's drain function; runs one drain at a time.

    A daemon thread: it holds nothing to flush, so a program that forgets
    ``AffinityDrains.dispose()`` still exits.
    """

    use_daemon_thread = True

    def __init__(self, key: str, on_drain: DrainFn) -> None:
        super().__init__()
        self.key = key
        self._on_drain = on_drain

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, RunDrain):
            return call_drain(self._on_drain, message.supervisor, message.ctx)
        return None


class _Group:
    def __init__(self, key: str, on_drain: DrainFn, drain: TaskDrain) -> None:
        self.key = key
        self.on_drain = on_drain
        self.ref: pykka.ActorRef[Any] = _DrainActor.start(key, on_drain)
        self.drain = drain
        self.users = 1
        self.removed = False

    def run(self, sup: Any, ctx: Any = None) -> Any:
        """One drain on the key's actor; a drain actor found dead (stopped from outside) is
        restarted once (supervision: the key keeps draining)."""
        try:
            return self.ref.ask(RunDrain(sup, ctx))
        except pykka.ActorDeadError:
            if self.removed:
                raise
            log.warning("drain actor of %r was dead: restarted", self.key)
            self.ref = _DrainActor.start(self.key, self.on_drain)
            return self.ref.ask(RunDrain(sup, ctx))


class AffinityDrains:
    """Drains keyed by affinity that share one registered worker name.

    Examples:
        >>> from actors.testing import inline_supervisor
        >>> with inline_supervisor() as sup:
        ...     drains = AffinityDrains("BATCHER_DRAIN")
        ...     drains.start(sup)
        ...     _ = drains.add("room-1", lambda sup: 0, interval=5)   # on_drain(sup) -> items drained
        ...     [t.metadata["affinity_key"] for t in sup.get_tasks(name="BATCHER_DRAIN")]
        ...     drains.remove("room-1")    # the last user of the key: its row is deleted
        ...     sup.get_tasks(name="BATCHER_DRAIN")
        ['room-1']
        []

    Args:
        worker_name: the one worker name every drain row carries.
        max_interval: no key drains less often than this (seconds).
        idle_interval: seconds to wait after a drain that returned 0 (None: keep the interval).
        worker_options: ``TaskWorker`` fields for the one dispatching worker (hooks,
            middleware, ...), as :class:`TaskDrain`'s; its hooks run for every key's rows.

    Raises:
        ValidationError: a bad interval or bad ``worker_options``, named.
    """

    def __init__(self, worker_name: str = "BATCHER_DRAIN", *, max_interval: float = 30.0,
                 idle_interval: float | None = None, worker_options: Mapping[str, Any] | None = None) -> None:
        self.worker_name = worker_name
        self._worker_options = check_worker_options(worker_options)
        self.max_interval = _interval("max_interval", max_interval)
        self._idle = None if idle_interval is None else _interval("idle_interval", idle_interval)
        self._groups: dict[str, _Group] = {}
        self._lock = threading.Lock()
        self._sup: Any = None
        self.runs: dict[str, int] = {}

    def start(self, sup: Any) -> None:
        """Register the dispatching worker, exclusively: registering another worker under
        the same name afterwards raises instead of replacing the dispatcher."""
        self._sup = sup
        sup.register_task_worker(drain_worker(self.worker_name, self._dispatch, self._worker_options),
                                 exclusive=True)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._groups)

    def add(self, key: str, on_drain: DrainFn, interval: float | None = None) -> str | None:
        """A user of ``key`` arrives: the first one creates the key's drain actor and row;
        later ones may shorten the interval. Returns the row's id."""
        if not isinstance(key, str) or not key:
            raise ValidationError("key", key, "must be a non-empty string")
        if self._sup is None:
            raise ActorsError("AffinityDrains.add before start(supervisor)")
        every = min(self.max_interval, _interval("interval", interval or self.max_interval))
        with self._lock:
            group = self._groups.get(key)
            if group is not None:
                group.users += 1
                if every < group.drain.interval:
                    group.drain.update_interval(self._sup, every)
                return group.drain.id
            drain = TaskDrain(self.worker_name, every, description=f"Drain affinity group: {key}",
                              task_metadata={"affinity_key": key}, skip_register_worker=True)
            group = _Group(key, on_drain, drain)
            self._groups[key] = group
        return drain.start(self._sup)

    def remove(self, key: str) -> None:
        """A user of ``key`` leaves; the last one disposes the key's drain (its row is deleted)."""
        with self._lock:
            group = self._groups.get(key)
            if group is None:
                return
            group.users -= 1
            if group.users > 0:
                return
            del self._groups[key]
            group.removed = True
        group.drain.dispose(self._sup)
        group.ref.stop(block=False)

    def dispose(self) -> None:
        """Remove every key (rows deleted, actors stopped)."""
        for key in self.keys():
            with self._lock:
                group = self._groups.get(key)
                if group is not None:
                    group.users = 1
            self.remove(key)

    def _dispatch(self, ctx: Any, options: Any, task: Task) -> Any:
        meta = options if isinstance(options, Mapping) else task.metadata  # a schema model: the stored dump
        key = meta.get("affinity_key") or meta.get("affinityKey")
        if not isinstance(key, str) or not key:
            return None
        with self._lock:
            group = self._groups.get(key)
        if group is None:
            return None  # the key was removed while this run was queued
        try:
            count = group.run(self._sup, ctx)
        except pykka.ActorDeadError:
            return None  # removed meanwhile
        with self._lock:
            self.runs[key] = self.runs.get(key, 0) + 1
        return next_interval(count, group.drain.interval, self._idle)
