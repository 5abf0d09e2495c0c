"""The child-process side of ``ProcessExecutor`` (stdlib and the actors kernel only).

The parent starts a fresh interpreter running ``boot`` (see ``spawn.start_child``), which
serves in ``child_main``. One thread does it all on the per-task path: the main thread
runs the jobs of its local queue one after another and reads the parent's messages (job
batches with the pickled functions they need, aborts, stop, create replies) when it has
nothing to run (blocking), between two jobs (without waiting), and whenever a running job
calls ``ctx.is_aborted()`` (at most once a millisecond, without waiting): an abort reaches a
cooperative job that way; a job that never asks is killed by the parent after its grace.
A second thread only waits for the parent's death (``_exit_with_parent``): it never wakes
otherwise.

Events leave in batches: the main thread appends each job's ``JobDone`` (and a timed job's
``JobStarted``) to the outbox and sends it when its queue is empty or the oldest unsent
event is ``flush_interval`` old. The one extra thread, a *flusher*, starts only when a
running job first emits an event of its own (progress, metadata, log): it sends what waits
once its oldest event is ``flush_interval`` old, so a long job's events reach the parent
promptly while the main thread is inside the job. Before a job starts the main thread
writes its start time and sequence number to the shared ``counters``
(``[started, finished, started at]``), and its sequence number again after it ends: if the
child dies, the parent reads them to know which job was running and which results were
lost with the unsent outbox; the parent's deadlines count from that start time.

``ctx.create_task`` waits for the parent: it sends ``("create", request, parent id, spec)``
(after the events already in the outbox) and reads the socket until the parent's
``("created", request, reply)`` comes (or waits for the thread that reads it); see
``bookkeeping.answer_create``. ``ctx.step`` (``("step", request, task id, token, key, value)``,
answered once the step is durable), ``ctx.trigger`` and ``ctx.wait`` ask the same way
(``("trigger", request, parent id, specs)``, ``("look", request, task ids)``; the child is
their ``TaskCalls``), answered with ``("created", request, reply)`` too.

Wire format (pickled tuples). Parent → child: ``("run", [(seq, job, version)],
{(name, version): cloudpickled function}, sys.path or None)``, ``("abort", seq,
outcome)``, ``("created", request, reply)``, ``("stop",)``. Child → parent: ``("ready",
pid)``, ``("failed", text)``, ``("events", [(seq, event)])``, ``("create", request,
parent id, spec)``, ``("step", request, task id, token, key, value)``, ``("trigger", request,
parent id, specs)``, ``("look", request, task ids)``, ``("bye", reason)``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import pickle
import select
import signal
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...attempt import run_attempt
from ...context import TaskContext, raised
from ...errors import ActorsError, NodeStopped, StoreError, Timeout, ValidationError
from ...messages import JobDone, JobStarted
from ...models import Raised
from .outbox import Outbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from ...messages import Job
    from ...models import Outcome
    from ...triggers import Looked
    from .wire import Wire

__all__ = ["answered", "boot", "child_main", "created"]

_FunctionKey = tuple[str, int]
_PUMP_EVERY = 0.001  # ctx.is_aborted() reads the socket at most this often (seconds)


def boot(args: list[str]) -> None:
    """Entry point of the command line ``spawn.start_child`` runs: unpack its arguments
    (socket fd, counters fd, max tasks or "", flush interval) and serve (never returns)."""
    from .wire import Wire, map_counters

    sock, shared, max_tasks, flush_interval = args
    counters = map_counters(int(shared))
    os.close(int(shared))
    child_main(Wire.from_fd(int(sock)), counters, int(max_tasks) if max_tasks else None, float(flush_interval))


def child_main(conn: Wire, counters: Any, max_tasks: int | None, flush_interval: float) -> None:
    """The child process's entry point: serve jobs until told to stop, then exit.

    Args:
        conn: the child's end of the socket pair to the parent.
        counters: shared ``[started, finished, started at]`` (int64 in a shared map).
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


class _AbortFlag(threading.Event):
    """A job's abort flag: asking it reads the parent's messages first (an abort may wait there)."""

    def __init__(self, pump: Callable[[], None]) -> None:
        super().__init__()
        self._pump = pump

    def is_set(self) -> bool:
        if not super().is_set():
            self._pump()
        return super().is_set()


@dataclass(eq=False)
class _Running:
    seq: int
    key: _FunctionKey
    aborted: _AbortFlag
    reason: Outcome | None = None


@dataclass(eq=False)
class _Inbox:
    """What the parent sent that the main thread has not acted on yet (guarded by ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    queue: deque[tuple[int, Job, int]] = field(default_factory=deque)
    replies: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    stopping: bool = False


class _Child:
    """The state of one child process: its queue, functions and outbox."""

    def __init__(self, conn: Wire, counters: Any, max_tasks: int | None, flush_interval: float) -> None:
        self._conn = conn
        self._counters = counters
        self._max_tasks = max_tasks
        self._inbox = _Inbox()
        self._replied = threading.Condition(self._inbox.lock)
        self._reading = threading.Lock()  # one thread reads the socket at a time
        self._pumped_at = 0.0
        self._functions: dict[_FunctionKey, bytes | Callable[..., Any]] = {}
        self._running: _Running | None = None
        self._outbox = Outbox(conn, flush_interval)
        self._requests = itertools.count()
        threading.Thread(target=_exit_with_parent, args=(conn.fileno(),), name="actors-child-orphan",
                         daemon=True).start()

    def serve(self) -> str:
        """Run jobs until stopped or ``max_tasks`` is reached; returns why it ended."""
        counters, outbox, inbox, done = self._counters, self._outbox, self._inbox, 0
        while True:
            if inbox.queue:
                self._pump(0.0)  # aborts and stops that came meanwhile
            while not inbox.queue and not inbox.stopping:
                outbox.flush()
                self._pump(None)  # idle: wait for the parent
            with inbox.lock:
                if inbox.stopping:
                    break
                seq, job, version = inbox.queue.popleft()
                running = self._running = _Running(seq, (job.task.name, version), _AbortFlag(self._poll))
            counters[2] = time.monotonic_ns()
            counters[0] = seq
            outcome = self._run(running, job)
            counters[1] = seq
            with inbox.lock:
                self._running = None
            outbox.put(seq, JobDone(job.task.id, job.token, running.reason or outcome))
            done += 1
            if self._max_tasks is not None and done >= self._max_tasks:
                outbox.flush()
                return f"max_tasks_per_child={self._max_tasks} reached"
            if not inbox.queue or outbox.due():
                outbox.flush()
        outbox.flush()
        return "stopped"

    def _run(self, running: _Running, job: Job) -> Outcome:
        started = time.time()
        if job.timeout is not None:
            self._outbox.put(running.seq, JobStarted(job.task.id, job.token, started))
        try:
            execute = self._function(running.key)
        except Exception as exc:
            failure = raised(exc)
            return Raised(failure.type, f"cannot load the function of task worker {job.task.name!r} "
                                        f"in the child: {failure.message}", failure.traceback)
        emit = functools.partial(self._outbox.put_live, running.seq)
        ctx = TaskContext(job, emit, create=self._create, aborted=running.aborted, started=started,
                          step=self._save_step, calls=self)
        return run_attempt(execute, ctx, reason=lambda: running.reason)

    def _function(self, key: _FunctionKey) -> Callable[..., Any]:
        with self._inbox.lock:
            value = self._functions[key]
        if isinstance(value, bytes):
            value = pickle.loads(value)  # cloudpickle output; cloudpickle is imported on demand
            with self._inbox.lock:
                self._functions[key] = value
        return value

    # --- reading the parent's messages ----------------------------------------------

    def _poll(self) -> None:
        """From ``ctx.is_aborted()`` (any thread): read what waits, at most once a millisecond."""
        now = time.monotonic()
        if now - self._pumped_at >= _PUMP_EVERY:
            self._pumped_at = now
            self._pump(0.0, wait_turn=False)

    def _pump(self, timeout: float | None, *, wait_turn: bool = True) -> None:
        """Handle the messages that wait, waiting ``timeout`` s (None: as long as it takes) for
        the first. ``wait_turn`` False: return at once if another thread is reading."""
        if not self._reading.acquire(blocking=wait_turn):
            return
        try:
            conn = self._conn
            if conn.poll(timeout):
                self._handle(conn.recv())
                while conn.poll(0):
                    self._handle(conn.recv())
        except (EOFError, OSError):
            os._exit(1)  # the parent is gone: nobody would hear about our jobs
        finally:
            self._reading.release()

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind, inbox = message[0], self._inbox
        if kind == "run":
            self._receive(message[1], message[2], message[3])
        elif kind == "abort":
            self._abort(message[1], message[2])
        elif kind == "created":
            with self._replied:
                inbox.replies[message[1]] = message[2]
                self._replied.notify_all()
        elif kind == "stop":
            with inbox.lock:
                inbox.stopping = True

    def _receive(self, batch: list[tuple[int, Job, int]], functions: dict[_FunctionKey, bytes],
                 path: list[str] | None) -> None:
        if path is not None:
            sys.path[:] = path + [entry for entry in sys.path if entry not in path]
        with self._inbox.lock:
            if functions:
                self._functions.update(functions)
                self._prune(batch, {name for name, _ in functions})
            self._inbox.queue.extend(batch)

    def _prune(self, batch: list[tuple[int, Job, int]], names: set[str]) -> None:
        """Forget superseded versions of ``names`` that no queued job needs (lock held)."""
        needed = {(job.task.name, version) for _, job, version in (*self._inbox.queue, *batch)}
        if self._running is not None:
            needed.add(self._running.key)
        for key in [key for key in self._functions if key[0] in names and key not in needed]:
            del self._functions[key]

    def _abort(self, seq: int, outcome: Outcome) -> None:
        cancelled: Job | None = None
        with self._inbox.lock:
            running = self._running
            if running is not None and running.seq == seq:
                running.reason = outcome
                running.aborted.set()
                return
            for item in self._inbox.queue:
                if item[0] == seq:
                    self._inbox.queue.remove(item)
                    cancelled = item[1]
                    break
        if cancelled is not None:
            self._outbox.put(seq, JobDone(cancelled.task.id, cancelled.token, outcome))
            self._outbox.flush()

    # --- ctx.create_task, ctx.step, ctx.trigger, ctx.wait: requests to the parent -----

    def _create(self, parent_id: str, spec: dict[str, Any]) -> str:
        """The ``Creator`` of this child's tasks: ask the parent, wait for its reply."""
        return created(self._ask("create", parent_id, spec, what="spec", value=spec))

    def _save_step(self, task_id: str, token: str, key: str, value: Any) -> None:
        """The ``StepWriter`` of this child's tasks: ask the parent to store the step, wait for its
        reply (sent once the step is durable). ``value`` is JSON already (``iterations.step_value``)."""
        answered(self._ask("step", task_id, token, key, value, what="step", value=key))

    def trigger(self, parent_id: str, specs: list[dict[str, Any]]) -> list[str]:
        """``TaskCalls.trigger`` of this child's tasks (``ctx.trigger``): a request to the parent."""
        return list(answered(self._ask("trigger", parent_id, specs, what="specs", value=specs)))

    def look(self, task_ids: list[str]) -> list[Looked | None]:
        """``TaskCalls.look`` of this child's tasks (``ctx.wait``): a request to the parent."""
        return list(answered(self._ask("look", task_ids, what="task_ids", value=task_ids)))

    def _ask(self, kind: str, *args: Any, what: str, value: object) -> tuple[Any, ...]:
        """Send ``(kind, request, *args)`` and wait for the parent's ``("created", request, reply)``."""
        request = next(self._requests)
        try:
            self._outbox.send_now((kind, request, *args))
        except Exception as exc:  # a value that does not pickle (the fields were checked already)
            raise ValidationError(what, value, f"cannot be sent to the supervisor: {exc}") from None
        replies = self._inbox.replies
        while True:
            with self._replied:
                if request in replies:
                    return replies.pop(request)
            if self._reading.acquire(blocking=False):
                self._reading.release()
                self._pump(0.05)
            else:  # another thread reads: it hands us the reply
                with self._replied:
                    if request not in replies:
                        self._replied.wait(0.05)


def _exit_with_parent(fd: int) -> None:
    """Block until the parent's end of the socket is closed (the parent died), then exit.

    The one thread besides the main thread: a job that runs (or sleeps) for long reads no
    socket, yet must not outlive its parent. It waits for the hang-up only (no read interest),
    so the parent's messages never wake it: it costs nothing per task."""
    poller = select.poll()
    poller.register(fd, 0)  # POLLHUP / POLLERR are always reported
    while True:
        if any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, mask in poller.poll()):
            os._exit(1)


def created(reply: tuple[Any, ...]) -> str:
    """The id in the parent's reply to a create, or the error it stands for (see
    ``bookkeeping.answer_create``)."""
    return str(answered(reply))


def answered(reply: tuple[Any, ...]) -> Any:
    """The value in the parent's reply to a request (``create``, ``trigger``, ``look``), or the
    error it stands for (see ``bookkeeping.answer_create``)."""
    kind = reply[0]
    if kind == "ok":
        return reply[1]
    if kind == "ValidationError":
        raise ValidationError(reply[1], reply[2], reply[3])
    if kind == "NodeStopped":
        raise NodeStopped(str(reply[1]).removeprefix("node stopped: "))
    plain: dict[str, type[ActorsError]] = {"StoreError": StoreError, "Timeout": Timeout}
    error = plain.get(kind)
    raise error(reply[1]) if error is not None else ActorsError(f"{kind}: {reply[1]}")
