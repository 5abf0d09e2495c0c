"""The parent side of ``ProcessExecutor``, minus cloudpickle and psutil (stdlib and kernel only).

Starting a child and waiting for its handshake (``start_child``), what the
parent knows about the jobs it sent (``Entry``), the timers that end them
(``Timers``: one deadline, a few kill-after-grace timers), and the pure decision
of what becomes of each job when a child dies (``settle``), and the answer to a child's
``ctx.create_task`` request (``answer_create``).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import json
import math
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import ActorsError, ChildStartError, ValidationError
from ..messages import Job, JobDone
from ..models import Cancelled, Outcome
from ._wire import Wire, map_counters

__all__ = ["ChildProcess", "ChildStartError", "Entry", "Kill", "OutcomeFor", "Timers", "answer_create",
           "describe_exit", "number", "settle", "start_child"]


class ChildProcess:
    """A child started with ``subprocess`` (the part of ``multiprocessing.Process`` we use).

    Not ``multiprocessing``'s ``spawn``: that also starts its resource-tracker process
    (~13 MiB, for semaphores and shared memory our children never create) and makes
    every child import the parent's ``__main__`` script again. The child gets the
    parent's ``sys.path`` and imports only ``actors.execution._child``.
    """

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid

    @property
    def exitcode(self) -> int | None:
        """The exit code once reaped (negative: the signal), else None."""
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        """Reap the child, waiting at most ``timeout`` seconds."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._popen.kill()


def start_child(*, max_tasks: int | None, flush_interval: float,
                start_timeout: float) -> tuple[ChildProcess, Wire, Any]:
    """Start a child running ``_child.child_main`` and wait for its handshake.

    The child is a fresh interpreter (``sys.executable``) that inherits two file
    descriptors: its end of a socket pair (a ``Wire`` on both sides: length-prefixed
    pickles) and a 16-byte shared memory map holding the
    ``[started, finished]`` counters.

    Returns:
        ``(process, the parent's end of the pipe, the shared [started, finished] counters)``.

    Raises:
        ChildStartError: it could not start, died or was not ready in ``start_timeout`` s.
    """
    try:
        shared = _shared_counters()
    except OSError as exc:
        raise _cannot_start(exc) from exc
    try:
        parent_sock, child_sock = socket.socketpair()
    except OSError as exc:
        os.close(shared.fileno())
        raise _cannot_start(exc) from exc
    try:
        fds = (child_sock.fileno(), shared.fileno())
        boot = ("import sys; sys.path[:0] = sys.argv[1:2] and __import__('json').loads(sys.argv[1]); "
                "from actors.execution._child import boot; boot(sys.argv[2:])")
        argv = [sys.executable, *_interpreter_flags(), "-c", boot, json.dumps(sys.path),
                str(fds[0]), str(fds[1]), "" if max_tasks is None else str(max_tasks), repr(flush_interval)]
        popen = subprocess.Popen(argv, pass_fds=fds, stdin=subprocess.DEVNULL)
    except Exception as exc:
        parent_sock.close()
        raise _cannot_start(exc) from exc
    finally:
        child_sock.close()  # ours would hide the child's end-of-file
        os.close(shared.fileno())
    process = ChildProcess(popen)
    conn = Wire(parent_sock)
    try:
        _wait_ready(process, conn, start_timeout)
    except BaseException:
        process.kill()
        process.join(5.0)
        conn.close()
        raise
    return process, conn, shared.counters


def _cannot_start(exc: BaseException) -> ChildStartError:
    return ChildStartError(f"cannot start a child process: {type(exc).__name__}: {exc}")


class _Shared(NamedTuple):
    counters: Any  # memoryview of two int64, shared with the child
    fd: int

    def fileno(self) -> int:
        return self.fd


def _shared_counters() -> _Shared:
    """Two int64 ``[-1, -1]`` in a shared memory map the child inherits as a file descriptor."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("actors-counters", 0)  # Linux: not in any file system
    else:  # pragma: no cover - other POSIX systems
        handle, name = tempfile.mkstemp(prefix="actors-counters-")
        os.unlink(name)
        fd = handle
    os.ftruncate(fd, 16)
    counters = map_counters(fd)
    counters[0] = counters[1] = -1
    return _Shared(counters, fd)


def _interpreter_flags() -> list[str]:
    """The parent's interpreter options (``-X``, ``-W``, ``-O`` ...), as ``multiprocessing`` passes them."""
    flags = getattr(subprocess, "_args_from_interpreter_flags", None)
    return list(flags()) if flags is not None else []


def _wait_ready(process: Any, conn: Wire, start_timeout: float) -> None:
    deadline = time.monotonic() + start_timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ChildStartError(f"the child process (pid {process.pid}) was not ready after "
                                  f"{start_timeout:g}s")
        try:
            ready = conn.poll(min(left, 0.1))
            message = conn.recv() if ready else None
        except (EOFError, OSError):
            message, ready = None, False
            process.join(5.0)
        if message is not None and message[0] == "ready":
            return
        if message is not None and message[0] == "failed":
            raise ChildStartError(f"the child process failed to start:\n{message[1]}")
        if not ready and not process.is_alive():
            raise ChildStartError(
                f"the child process exited with code {process.exitcode} before it was ready (its "
                "stderr says why)")


def number(name: str, value: object, *, minimum: float, open_min: bool = False) -> float | None:
    """A finite number ``>= minimum`` (``> minimum`` when ``open_min``), or None.

    Raises:
        ValidationError: anything else, named ``name``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < minimum or (open_min and value == minimum):
        bound = f"{'>' if open_min else '>='} {minimum:g}"
        raise ValidationError(name, value, f"must be a number {bound} or None")
    return float(value)

OutcomeFor = Callable[[int | None], Outcome]
"""The outcome of a job the parent killed on purpose, given the child's exit code."""


@dataclass(eq=False)
class Entry:
    """A submitted job, until its ``JobDone`` is reported."""

    seq: int
    job: Job
    execute: Callable[..., Any]
    slot: Any = None  # the child it was sent to; None while unsent
    cancelled: bool = False
    timed: bool = False  # its deadline is set (from its JobStarted, or seen started by the watch)


@dataclass(order=True)
class Kill:
    """Kill ``slot`` at ``when`` (monotonic) if it still runs job ``seq``; it ends ``outcome``."""

    when: float
    seq: int
    slot: Any = field(compare=False)
    outcome: OutcomeFor = field(compare=False)


def settle(entries: Iterable[Entry], *, started: int, finished: int, doomed: dict[int, OutcomeFor],
           killed: bool, crash: Outcome, exitcode: int | None) -> tuple[list[JobDone], list[Entry]]:
    """Decide what becomes of a dead child's jobs: ``(their JobDone, the jobs to run again)``.

    Args:
        entries: the jobs sent to that child and not reported yet, in order.
        started: the sequence number of the last job the child started.
        finished: the sequence number of the last job it finished.
        doomed: jobs the parent killed it for, with their outcome.
        killed: the parent killed it (then the job running was innocent, unless doomed).
        crash: the outcome of the job that was running when it died on its own.
        exitcode: the child's exit code (negative: the signal).

    A cancelled job ends ``Cancelled``; a doomed one its outcome; the one running
    when the child died on its own ``crash``. The others run again: either they
    had not started, or they finished and their result died in the child's
    outbox (at-least-once), or the parent killed the child for another job.
    """
    ended: list[JobDone] = []
    rerun: list[Entry] = []
    for entry in entries:
        seq = entry.seq
        if entry.cancelled:
            outcome: Outcome = Cancelled()
        elif seq in doomed:
            outcome = doomed[seq](exitcode)
        elif seq == started and seq > finished and not killed:
            outcome = crash
        else:
            rerun.append(entry)
            continue
        ended.append(JobDone(entry.job.task.id, entry.job.token, outcome))
    return ended, rerun


def describe_exit(pid: int, exitcode: int | None) -> str:
    """``"the child process (pid 12) exited with code 3"`` / ``"... was killed by signal SIGKILL"``."""
    if exitcode is None:
        return f"the child process (pid {pid}) vanished"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return f"the child process (pid {pid}) was killed by signal {name}"
    return f"the child process (pid {pid}) exited with code {exitcode}"


class Timers:
    """A thread that fires the running job's deadline and kill-after-grace timers, and a watch.

    Callbacks run on the timer thread, outside its lock (the lock is a leaf: safe
    to call these methods while holding other locks). Only one job runs at a time
    per child, so there is one deadline slot; a newer deadline replaces it.

    Args:
        on_deadline: ``on_deadline(seq, slot)`` when a job's deadline passes.
        on_kill: ``on_kill(kill)`` when a kill timer is due.
        on_watch: called every ``period`` seconds once ``watch()`` armed it, until it
            returns False (the next ``watch()`` arms it again).
        period: seconds between two ``on_watch`` calls.
    """

    def __init__(self, on_deadline: Callable[[int, Any], None], on_kill: Callable[[Kill], None],
                 on_watch: Callable[[], bool] | None = None, period: float = 0.2) -> None:
        self._on_deadline = on_deadline
        self._on_kill = on_kill
        self._on_watch = on_watch
        self._period = period
        self._cond = threading.Condition()
        self._deadline: tuple[float, int, Any] | None = None
        self._kills: list[Kill] = []
        self._watch_at: float | None = None  # the next on_watch call; None: not armed
        self._wake: float | None = None  # when the thread is due to wake on its own
        self._closed = False
        threading.Thread(target=self._loop, name="actors-executor-timers", daemon=True).start()

    def set_deadline(self, seq: int, when: float, slot: Any) -> None:
        with self._cond:
            self._deadline = (when, seq, slot)
            if self._wake is None or when < self._wake:
                self._cond.notify()  # jobs that end in time never wake the thread

    def add_kill(self, kill: Kill) -> None:
        with self._cond:
            heapq.heappush(self._kills, kill)
            self._cond.notify()

    def watch(self) -> None:
        """Arm the watch (no-op when armed already or there is no ``on_watch``)."""
        with self._cond:
            if self._on_watch is None or self._watch_at is not None:
                return
            self._watch_at = time.monotonic() + self._period
            if self._wake is None or self._watch_at < self._wake:
                self._cond.notify()

    def forget(self, slot: Any) -> None:
        """Drop the timers of a child that is gone."""
        with self._cond:
            if self._deadline is not None and self._deadline[2] is slot:
                self._deadline = None
            self._kills = [kill for kill in self._kills if kill.slot is not slot]
            heapq.heapify(self._kills)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _loop(self) -> None:
        while (action := self._next()) is not None:
            action()

    def _next(self) -> Callable[[], None] | None:
        """Wait for the next timer that is due and return its callback (None once closed)."""
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                deadline, kill = self._deadline, self._kills[0] if self._kills else None
                self._wake = None
                if deadline is not None and deadline[0] <= now:
                    self._deadline = None
                    return functools.partial(self._on_deadline, deadline[1], deadline[2])
                if kill is not None and kill.when <= now:
                    heapq.heappop(self._kills)
                    return functools.partial(self._on_kill, kill)
                if self._watch_at is not None and self._watch_at <= now:
                    self._watch_at = None
                    return self._watch
                times = [deadline[0]] if deadline is not None else []
                times += [kill.when] if kill is not None else []
                times += [self._watch_at] if self._watch_at is not None else []
                self._wake = min(times, default=None)
                self._cond.wait(None if self._wake is None else self._wake - now)
            return None

    def _watch(self) -> None:
        assert self._on_watch is not None
        again = self._on_watch()
        with self._cond:
            if again and self._watch_at is None:
                self._watch_at = time.monotonic() + self._period


# --- a child's ctx.create_task ------------------------------------------------------------


def answer_create(create: Callable[[str, dict[str, Any]], str] | None, reply: Callable[[tuple[Any, ...]], None],
                  request: int, parent_id: str, spec: dict[str, Any]) -> None:
    """Create the task a child asked for and send it ``("created", request, answer)``.

    Run on a thread of its own (never the reader's nor the supervisor actor's: ``create`` runs
    the worker's ``validate``, user code that may call the node). ``answer`` is ``("ok", id)``,
    ``("ValidationError", field, value, reason)`` or ``(error type name, message)``; the child
    raises it again (``_child._created``).
    """
    answer: tuple[Any, ...]
    try:
        if create is None:
            raise ActorsError("ctx.create_task: this executor was built without a Creator")
        answer = ("ok", create(parent_id, spec))
    except ValidationError as exc:
        answer = ("ValidationError", exc.field, _picklable(exc.value), exc.reason)
    except Exception as exc:
        answer = (type(exc).__name__, str(exc))
    reply(("created", request, answer))


def _picklable(value: object) -> object:
    try:
        pickle.dumps(value)
    except Exception:
        return repr(value)
    return value
