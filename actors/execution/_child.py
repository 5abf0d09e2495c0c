"""The child-process side of ``ProcessExecutor`` (stdlib and the actors kernel only).

The parent starts a fresh interpreter running ``boot`` (see ``_parent.start_child``), which
serves in ``child_main``. Three threads:

- the main thread runs the jobs of its local queue one after another;
- a reader thread receives the parent's messages (job batches with the pickled
  functions they need, aborts, stop) and never writes to the pipe, so the
  parent's sends never wait on the child's;
- a flusher thread sends what the outbox holds once its oldest event is
  ``flush_interval`` old (events of a long job reach the parent promptly).

Events leave in batches: the main thread appends each job's events and its
``JobDone`` to the outbox and sends it when its queue is empty or the oldest
unsent event is ``flush_interval`` old. Before a job starts, and after it ends,
the main thread writes its sequence number to the shared ``counters``
(``[started, finished]``): if the child dies, the parent reads them to know
which job was running and which results were lost with the unsent outbox.

``ctx.create_task`` waits for the parent: the task's thread sends ``("create", request,
parent id, spec)`` (after the events already in the outbox) and blocks until the reader
hands it the parent's ``("created", request, reply)``; see ``_parent.answer_create``.

Wire format (pickled tuples). Parent → child: ``("run", [(seq, job, version)],
{(name, version): cloudpickled function}, sys.path or None)``, ``("abort", seq,
outcome)``, ``("created", request, reply)``, ``("stop",)``. Child → parent: ``("ready",
pid)``, ``("failed", text)``, ``("events", [(seq, event)])``, ``("create", request,
parent id, spec)``, ``("bye", reason)``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..context import TaskContext, raised, run_attempt
from ..errors import ActorsError, NodeStopped, StoreError, Timeout, ValidationError
from ..messages import JobDone, JobStarted
from ..models import Raised

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..messages import ExecutorEvent, Job
    from ..models import Outcome
    from ._wire import Wire

__all__ = ["boot", "child_main"]

_FunctionKey = tuple[str, int]


def boot(args: list[str]) -> None:
    """Entry point of the command line ``_parent.start_child`` runs: unpack its arguments
    (socket fd, counters fd, max tasks or "", flush interval) and serve (never returns)."""
    from ._wire import Wire, map_counters

    sock, shared, max_tasks, flush_interval = args
    counters = map_counters(int(shared))
    os.close(int(shared))
    child_main(Wire.from_fd(int(sock)), counters, int(max_tasks) if max_tasks else None, float(flush_interval))


def child_main(conn: Wire, counters: Any, max_tasks: int | None, flush_interval: float) -> None:
    """The child process's entry point: serve jobs until told to stop, then exit.

    Args:
        conn: the child's end of the duplex pipe to the parent.
        counters: shared ``[started, finished]`` sequence numbers (int64 in a shared map).
        max_tasks: exit after this many jobs (the parent starts a replacement).
        flush_interval: the longest an event waits in the outbox, in seconds.
    """
    try:
        with contextlib.suppress(OSError, AttributeError):
            os.setpgid(0, 0)  # our own group: the parent can kill what our tasks leave behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        child = _Child(conn, counters, max_tasks, flush_interval)
    except BaseException:
        with contextlib.suppress(Exception):
            conn.send(("failed", traceback.format_exc()))
        os._exit(1)
    conn.send(("ready", os.getpid()))
    reason = child.serve()
    with contextlib.suppress(Exception):
        conn.send(("bye", reason))
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)  # not sys.exit: threads a task left behind must not keep the slot alive


class _Outbox:
    """Events waiting to go to the parent, sent in batches (thread-safe)."""

    def __init__(self, conn: Wire, interval: float) -> None:
        self._conn = conn
        self._interval = interval
        self._cond = threading.Condition()
        self._items: list[tuple[int, ExecutorEvent]] = []
        self._first = 0.0
        self._urgent = False
        threading.Thread(target=self._flusher, name="actors-child-flusher", daemon=True).start()

    def put(self, seq: int, event: ExecutorEvent, *, urgent: bool = False) -> None:
        with self._cond:
            if not self._items:
                self._first = time.monotonic()
                self._cond.notify()
            self._items.append((seq, event))
            if urgent:
                self._urgent = True
                self._cond.notify()

    def due(self) -> bool:
        """True when the oldest unsent event has waited ``interval`` (read without the lock)."""
        return bool(self._items) and time.monotonic() - self._first >= self._interval

    def flush(self) -> None:
        with self._cond:
            self._send_locked()

    def send_now(self, message: tuple[Any, ...]) -> None:
        """Send what waits, then ``message`` (so the events emitted before it arrive first).

        Raises:
            whatever ``pickle`` raises for a message it cannot pickle (nothing is sent).
        """
        with self._cond:
            self._send_locked()
            try:
                self._conn.send(message)
            except (OSError, EOFError):
                os._exit(1)  # the parent is gone

    def _flusher(self) -> None:
        with self._cond:
            while True:
                if not self._items:
                    self._cond.wait()
                    continue
                wait = self._first + self._interval - time.monotonic()
                if wait > 0 and not self._urgent:
                    self._cond.wait(wait)
                    continue
                self._send_locked()

    def _send_locked(self) -> None:
        self._urgent = False
        if not self._items:
            return
        batch, self._items = self._items, []
        try:
            self._conn.send(("events", batch))
        except (OSError, EOFError):
            os._exit(1)  # the parent is gone
        except Exception:
            self._send_one_by_one(batch)

    def _send_one_by_one(self, batch: list[tuple[int, ExecutorEvent]]) -> None:
        """A batch that does not pickle: send what does, drop (and say) what does not."""
        for seq, event in batch:
            try:
                self._conn.send(("events", [(seq, event)]))
            except (OSError, EOFError):
                os._exit(1)
            except Exception as exc:
                print(f"actors: dropped an event that does not pickle: {event!r}: {exc}", file=sys.stderr)


@dataclass(eq=False)
class _Running:
    seq: int
    key: _FunctionKey
    aborted: threading.Event = field(default_factory=threading.Event)
    reason: Outcome | None = None


class _Child:
    """The state of one child process: its queue, functions and outbox."""

    def __init__(self, conn: Wire, counters: Any, max_tasks: int | None, flush_interval: float) -> None:
        self._conn = conn
        self._counters = counters
        self._max_tasks = max_tasks
        self._cond = threading.Condition()
        self._queue: deque[tuple[int, Job, int]] = deque()
        self._functions: dict[_FunctionKey, bytes | Callable[..., Any]] = {}
        self._running: _Running | None = None
        self._stopping = False
        self._outbox = _Outbox(conn, flush_interval)
        self._requests = itertools.count()
        self._replies: dict[int, tuple[Any, ...]] = {}  # guarded by _cond
        threading.Thread(target=self._read, name="actors-child-reader", daemon=True).start()

    def serve(self) -> str:
        """Run jobs until stopped or ``max_tasks`` is reached; returns why it ended."""
        counters, outbox, done = self._counters, self._outbox, 0
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    break
                seq, job, version = self._queue.popleft()
                running = self._running = _Running(seq, (job.task.name, version))
            counters[0] = seq
            outcome = self._run(running, job)
            counters[1] = seq
            with self._cond:
                self._running = None
            outbox.put(seq, JobDone(job.task.id, job.token, running.reason or outcome))
            done += 1
            if self._max_tasks is not None and done >= self._max_tasks:
                outbox.flush()
                return f"max_tasks_per_child={self._max_tasks} reached"
            if not self._queue or outbox.due():
                outbox.flush()
        outbox.flush()
        return "stopped"

    def _run(self, running: _Running, job: Job) -> Outcome:
        emit = functools.partial(self._outbox.put, running.seq)
        started = time.time()
        if job.timeout is not None:
            emit(JobStarted(job.task.id, job.token, started))
        try:
            execute = self._function(running.key)
        except Exception as exc:
            failure = raised(exc)
            return Raised(failure.type, f"cannot load the function of task worker {job.task.name!r} "
                                        f"in the child: {failure.message}", failure.traceback)
        ctx = TaskContext(job, emit, create=self._create, aborted=running.aborted, started=started)
        return run_attempt(execute, ctx)

    def _function(self, key: _FunctionKey) -> Callable[..., Any]:
        with self._cond:
            value = self._functions[key]
        if isinstance(value, bytes):
            value = pickle.loads(value)  # cloudpickle output; cloudpickle is imported on demand
            with self._cond:
                self._functions[key] = value
        return value

    def _read(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                os._exit(1)  # the parent is gone: nobody would hear about our jobs
            kind = message[0]
            if kind == "run":
                self._receive(message[1], message[2], message[3])
            elif kind == "abort":
                self._abort(message[1], message[2])
            elif kind == "created":
                with self._cond:
                    self._replies[message[1]] = message[2]
                    self._cond.notify_all()
            elif kind == "stop":
                with self._cond:
                    self._stopping = True
                    self._cond.notify()

    def _receive(self, batch: list[tuple[int, Job, int]], functions: dict[_FunctionKey, bytes],
                 path: list[str] | None) -> None:
        if path is not None:
            sys.path[:] = path + [entry for entry in sys.path if entry not in path]
        with self._cond:
            if functions:
                self._functions.update(functions)
                self._prune(batch, {name for name, _ in functions})
            self._queue.extend(batch)
            self._cond.notify()

    def _prune(self, batch: list[tuple[int, Job, int]], names: set[str]) -> None:
        """Forget superseded versions of ``names`` that no queued job needs (lock held)."""
        needed = {(job.task.name, version) for _, job, version in (*self._queue, *batch)}
        if self._running is not None:
            needed.add(self._running.key)
        for key in [key for key in self._functions if key[0] in names and key not in needed]:
            del self._functions[key]

    def _abort(self, seq: int, outcome: Outcome) -> None:
        with self._cond:
            running = self._running
            if running is not None and running.seq == seq:
                running.reason = outcome
                running.aborted.set()
                return
            for item in self._queue:
                if item[0] == seq:
                    self._queue.remove(item)
                    job = item[1]
                    self._outbox.put(seq, JobDone(job.task.id, job.token, outcome), urgent=True)
                    return

    # --- ctx.create_task: a request to the parent, and its reply ---------------------

    def _create(self, parent_id: str, spec: dict[str, Any]) -> str:
        """The ``Creator`` of this child's tasks: ask the parent, wait for its reply."""
        request = next(self._requests)
        try:
            self._outbox.send_now(("create", request, parent_id, spec))
        except Exception as exc:  # a value that does not pickle (the fields were checked already)
            raise ValidationError("spec", spec, f"cannot be sent to the supervisor: {exc}") from None
        with self._cond:
            while request not in self._replies:
                self._cond.wait()
            reply = self._replies.pop(request)
        return _created(reply)


def _created(reply: tuple[Any, ...]) -> str:
    """The id in the parent's reply to a create, or the error it stands for (see
    ``_parent.answer_create``)."""
    kind = reply[0]
    if kind == "ok":
        return str(reply[1])
    if kind == "ValidationError":
        raise ValidationError(reply[1], reply[2], reply[3])
    if kind == "NodeStopped":
        raise NodeStopped(str(reply[1]).removeprefix("node stopped: "))
    plain: dict[str, type[ActorsError]] = {"StoreError": StoreError, "Timeout": Timeout}
    error = plain.get(kind)
    raise error(reply[1]) if error is not None else ActorsError(f"{kind}: {reply[1]}")
