"""The composition root: builds and wires one node, and takes it down.

This is the only module that picks concrete stores and executors. :func:`start_node`
is ``Supervisor.start``'s body: it validates the settings (each bad one named), opens
the store (:func:`open_store`), builds the supervisor actor with its children (the
scheduler thread and the worker actors' :class:`~actors.runtime.children.Crew`, given
at construction), the handle, and asks the supervisor to ``Attach`` (start its workers
and claim). :func:`stop_node` is ``Supervisor.stop``'s.
"""

from __future__ import annotations

import atexit
import functools
import logging
import math
import os
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import pykka

from ..clock import Clock, ManualClock, SystemClock
from ..errors import NodeStopped, StoreError, ValidationError
from ..execution.base import Creator, EventSink, Executor, ExecutorFactory, StepWriter
from ..feed.bus import EventBus
from ..feed.follow import Follower
from ..messages import Attach, Release, ReleaseAll, Shutdown, StopWorker
from ..spec import seconds
from ..spec.queues import check_queues
from ..storage.base import TaskStore, subscribable
from .children import Crew
from .creates import Gate, NodeCalls
from .dispatch import DISPATCH_MODES
from .scheduler import Scheduler
from .supervisor import SupervisorActor, SupervisorConfig

if TYPE_CHECKING:
    from ..triggers import TaskCalls
    from .handle import Supervisor

__all__ = ["open_store", "start_node", "stop_at_exit", "stop_node"]

log = logging.getLogger("actors")

H = TypeVar("H", bound="Supervisor")

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
        from ..storage.memory import MemoryStore

        return MemoryStore()
    if target.startswith(("postgresql://", "postgres://")):
        try:
            from ..storage.postgres import PostgresStore  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise StoreError(
                f"PostgreSQL store unavailable ({exc}); install it with: pip install 'actors[postgres]'"
            ) from None
        dsn, schema = _split_schema(target)
        return PostgresStore(dsn, schema=schema)  # type: ignore[no-any-return,unused-ignore]
    if target.startswith("sqlite:///"):
        target = target[len("sqlite:///"):]
    from ..storage.sqlite import SQLiteStore

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


def _executor_factory(kind: str, executor: str, options: Mapping[str, Any], create: Creator,
                      step: StepWriter, calls: TaskCalls, clock: Clock) -> ExecutorFactory:
    """What builds the executor of one worker actor; ``create`` is its tasks' ``ctx.create_task``,
    ``step`` their ``ctx.step`` writer, ``calls`` their ``ctx.trigger`` / ``ctx.wait``; an inline
    executor reads the node's ``clock``."""
    if executor == "inline":
        from ..execution.inline import InlineExecutor

        return functools.partial(InlineExecutor, create=create, step=step, calls=calls, clock=clock)
    if kind == "thread" or executor == "thread":
        from ..execution.thread import ThreadExecutor

        return functools.partial(ThreadExecutor, create=create, step=step, calls=calls)
    from ..execution.process import ProcessExecutor

    def make(on_event: EventSink) -> Executor:
        return ProcessExecutor(on_event, create=create, step=step, calls=calls, **options)

    return make


def _positive_int(field: str, value: object, *, allow_zero: bool = True) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise ValidationError(field, value, "must be an int >= " + ("0" if allow_zero else "1"))
    return value


def start_node(cls: type[H], store: str | os.PathLike[str] | TaskStore, *, workers: int | None,
               lease_ttl: float | timedelta, clock: Clock | None, executor: str, thread_workers: int,
               max_batch: int, synchronous: str, poll_interval: float, retention: float | timedelta,
               max_crashes: int, abort_grace: float, kill_grace: float, timeout: float | None,
               rss_limit_mb: int | None, max_tasks_per_child: int | None, node_id: str | None,
               max_restarts: int, restart_window: float | timedelta, queues: Iterable[str] | None = None) -> H:
    """``Supervisor.start`` (its arguments, documented there): a started node's handle.

    Raises:
        ValidationError: a bad setting (named). StoreError: the store cannot be opened.
        ChildStartError: a worker could not start its execution slot.
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
    only = check_queues(queues)
    if executor not in EXECUTORS:
        raise ValidationError("executor", executor, f"must be one of {EXECUTORS}")
    if str(synchronous).upper() not in ("NORMAL", "FULL"):
        raise ValidationError("synchronous", synchronous, "must be 'NORMAL' or 'FULL'")
    dispatch = os.environ.get("ACTORS_DISPATCH", "direct")  # an internal switch (docs/dispatch.md)
    if dispatch not in DISPATCH_MODES:
        raise ValidationError("ACTORS_DISPATCH", dispatch, f"must be one of {DISPATCH_MODES}")
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
                              max_restarts=max_restarts, restart_window=window, dispatch=dispatch,
                              queues=only)
    crew = Crew()
    scheduler = None if isinstance(clock, ManualClock) else Scheduler(None, clock, poll_interval)
    gate = Gate()  # shared: the supervisor closes it when it stops the node, creates check it
    bus = EventBus()  # shared: the supervisor and the creates emit, ``subscribe`` subscribes
    if Follower.follows(task_store):  # other nodes' changes, read while somebody subscribes
        follower = Follower(task_store, bus)
        bus.on_change(follower.wanted)
        bus.on_close(follower.stop)
    sup_ref = SupervisorActor.start(task_store, clock, config, workers=crew, scheduler=scheduler, gate=gate,
                                    bus=bus)
    # the handle first: the executors' ``ctx.create_task`` goes through its create path
    handle = cls(ref=sup_ref, store=task_store, clock=clock, workers=crew.refs,
                 scheduler=scheduler, node_id=node, gate=gate, bus=bus, serving=serving)
    options = {"kill_grace": kill_grace, "rss_limit_mb": rss_limit_mb,
               "max_tasks_per_child": max_tasks_per_child}
    calls = NodeCalls(handle)
    try:
        if serving:
            for kind, n in (("process", count), ("thread", thread_workers)):
                crew.add(kind, _executor_factory(kind, executor, options, handle._create_chained,
                                                 handle._save_step, calls, clock), n)
        if scheduler is not None:
            scheduler.start(sup_ref)
            subscribe = task_store.subscribe if subscribable(task_store) else None  # PostgreSQL: LISTEN/NOTIFY
            if subscribe is not None and serving:
                wake = scheduler.wake_at
                subscribe(lambda due: wake(clock.now() if due is None else due))
        sup_ref.ask(Attach())  # the supervisor starts its workers (ChildStartError if one cannot)
    except BaseException:
        atexit.unregister(handle._stop_at_exit)
        if scheduler is not None:
            scheduler.stop()
        crew.stop()
        sup_ref.stop()
        bus.close()
        raise
    return handle


def stop_node(handle: Supervisor, timeout: float) -> None:
    """``Supervisor.stop``: no new claims, the workers stopped (running tasks get ``timeout``
    seconds), every claim not finished given back, the supervisor stopped."""
    atexit.unregister(handle._stop_at_exit)
    if handle._scheduler is not None:
        handle._scheduler.stop()
    try:
        handle._ask(Shutdown(), stopping=True)
        futures = []
        for ref in list(handle._workers):
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
                handle._ask(Release(list(unstarted)), stopping=True)
        for ref in list(handle._workers):
            ref.stop(block=True, timeout=timeout + 5)
        handle._ask(ReleaseAll(), stopping=True)
    except NodeStopped:
        pass  # the supervisor is gone: its leases expire and another node takes the tasks
    finally:
        handle.ref.stop(block=True, timeout=timeout + 5)
        handle._bus.close()


def stop_at_exit(handle: Supervisor, timeout: float) -> None:
    """Stop ``handle`` from a thread of its own, waiting ``timeout`` seconds at most."""
    thread = threading.Thread(target=handle.stop, kwargs={"timeout": timeout / 2}, daemon=True,
                              name="actors-atexit-stop")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        log.warning("node %s did not stop within %ss at exit; its leases expire on their own",
                    handle.node_id, timeout)
