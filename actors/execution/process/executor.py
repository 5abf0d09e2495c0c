"""``ProcessExecutor``: one child process (a fresh interpreter) runs jobs one after another.

The only module that imports ``cloudpickle`` (psutil is ``procs``'s). Jobs travel over a
socket pair (length-prefixed pickles, ``wire``), in batches: ``submit`` sends all its jobs
as one message (with the cloudpickled functions the child has not seen yet: once per task
name, again when the function object changes), and the child sends events back in batches
(see ``child``). Nothing goes through the database.

No thread of its own: this process's I/O loop (``loop.IOLoop.shared()``, one thread for
every executor) reads the child's batches and calls ``on_event`` (in order: a job's
progress / metadata / log events, then its ``JobDone``), hands the child's
``ctx.create_task`` requests to a helper thread (``bookkeeping.answer_create``), and runs
this executor's timers (``guard``): deadlines, kills after a grace, the memory and
liveness watch. A child's death (its stream ends, or the liveness check every
``_QUIET_CHECK`` s finds it dead) is settled on a helper thread: the job that was running
is reported, a replacement starts and the jobs that had not started are sent to it.

Sends to the child never block: a child that takes nothing from its pipe for
``_SEND_STALL`` s (stopped by SIGSTOP, frozen) is killed as dead (``_stalled``).

A dead child's jobs (``bookkeeping.settle``): the one running ends ``Crashed`` (or
``TimedOut`` / ``Cancelled`` when we killed it for that reason); the ones not
started run on the replacement. Results still in the dead child's outbox
(finished jobs not yet reported, at most ``flush_interval`` old) are lost: those
jobs run again on the replacement (at-least-once).

Example:
    >>> executor = ProcessExecutor(print, max_tasks_per_child=1000)  # doctest: +SKIP
    >>> executor.submit(jobs, {"SEND_EMAIL": send_email})  # doctest: +SKIP
    >>> executor.stop(10.0)  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import functools
import itertools
import logging
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import cloudpickle

from ...errors import ValidationError
from ...messages import JobDone
from ...models import Crashed, Raised
from .bookkeeping import Entry, answer_call, answer_create, answer_step, number
from .guard import Guard, Slot
from .loop import Channel, IOLoop
from .procs import Proc, ProcGone
from .spawn import ChildStartError, start_child
from .wire import frame

if TYPE_CHECKING:
    from ...messages import ExecutorEvent, Job
    from ...triggers import TaskCalls
    from ..base import Creator, EventSink, StepWriter

__all__ = ["ChildStartError", "ProcessExecutor"]

log = logging.getLogger(__name__)

_QUIET_CHECK = 0.5  # the loop checks that each child is still alive this often (seconds)
_TERM_WAIT = 1.0  # a tree kill waits this long after SIGTERM before SIGKILL
_SEND_STALL = 5.0  # a child that takes nothing from its pipe this long (seconds) is killed as dead


class ProcessExecutor(Guard):
    """An ``Executor`` owning one child process (a fresh interpreter, see ``spawn.start_child``).

    Args:
        on_event: receives every event, from this process's I/O loop thread (``JobDone``
            for jobs refused at ``submit``: from the caller; for jobs of a dead child: from a
            helper thread).
        create: the jobs' ``ctx.create_task`` (a ``Creator``): a child's request is
            answered on a helper thread (see ``bookkeeping.answer_create``).
        step: the jobs' ``ctx.step`` writer (a ``StepWriter``): a child's request is answered
            on a helper thread (``bookkeeping.answer_step``); the child waits for the reply.
        calls: the jobs' ``ctx.trigger`` / ``ctx.wait`` (``actors.triggers.TaskCalls``), answered
            the same way (``bookkeeping.answer_call``).
        rss_limit_mb: the most resident memory, in MiB, of the child with its
            descendants. Sampled while a job runs: past it the child is killed and
            the job ends ``Crashed`` ("... RSS 412 MiB over rss_limit_mb=150"); checked
            again when results arrive: past it the child is replaced between jobs.
        max_tasks_per_child: replace the child after this many jobs.
        kill_grace: seconds between a timed-out job's abort flag and the kill of
            the process tree; default ``min(1, timeout / 10)``.
        start_timeout: seconds a new child may take to report ready.
        flush_interval: the longest the child holds an event before sending it.

    Raises:
        ValidationError: a bad option.
        ChildStartError: the child process could not be started (names the cause).
    """

    queues_only = True  # see ``Executor``

    def __init__(self, on_event: EventSink, *, create: Creator | None = None, rss_limit_mb: float | None = None,
                 max_tasks_per_child: int | None = None, kill_grace: float | None = None,
                 start_timeout: float = 60.0, flush_interval: float = 0.005, step: StepWriter | None = None,
                 calls: TaskCalls | None = None) -> None:
        rss = number("rss_limit_mb", rss_limit_mb, minimum=0, open_min=True)
        if max_tasks_per_child is not None and (
                isinstance(max_tasks_per_child, bool) or not isinstance(max_tasks_per_child, int)
                or max_tasks_per_child < 1):
            raise ValidationError("max_tasks_per_child", max_tasks_per_child, "must be an int >= 1 or None")
        self._max_tasks = max_tasks_per_child
        kill_grace = number("kill_grace", kill_grace, minimum=0)
        self._start_timeout = number("start_timeout", start_timeout, minimum=0, open_min=True) or 60.0
        self._flush_interval = number("flush_interval", flush_interval, minimum=0) or 0.0
        self._on_event = on_event
        self._create = create
        self._step = step
        self._calls = calls
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # taken before _lock; orders the messages to the child
        self._state_cond = threading.Condition(self._lock)
        self._pending: dict[int, Entry] = {}
        self._unsent: deque[Entry] = deque()
        self._seqs = itertools.count()
        self._versions = itertools.count(1)
        self._respawning = False
        self._stopping = False
        self._closed = False
        self._loop = IOLoop.shared()
        Guard.__init__(self, rss, kill_grace, _TERM_WAIT)
        self._slot: Slot | None = None
        self._slot = self._spawn()
        _LIVE.add(self)

    @property
    def pid(self) -> int | None:
        """The current child's process id (None while it is being replaced, or after ``stop``)."""
        slot = self._slot
        return None if slot is None else slot.pid

    # --- the Executor protocol ------------------------------------------------------

    def submit(self, jobs: Sequence[Job], functions: Mapping[str, Callable[..., Any]]) -> None:
        """Queue ``jobs`` (sent to the child at once, as one message). Never waits for a job, a
        child's start or its socket (safe from any thread: the supervisor calls it from its own).

        A job whose task name has no function in ``functions``, or whose function
        cloudpickle cannot serialise, ends ``Raised`` at once.

        Raises:
            RuntimeError: the executor is stopping or stopped.
        """
        refused: list[ExecutorEvent] = []
        with self._lock:
            if self._stopping:
                raise RuntimeError("ProcessExecutor.submit: the executor is stopped")
            for job in jobs:
                execute = functions.get(job.task.name)
                if execute is None:
                    refused.append(JobDone(job.task.id, job.token, Raised(
                        "UnknownWorker", f"no task worker registered under the name {job.task.name!r}")))
                    continue
                entry = Entry(next(self._seqs), job, execute)
                self._pending[entry.seq] = entry
                self._unsent.append(entry)
            spawn = self._slot is None and not self._respawning and bool(self._unsent)
            self._respawning = self._respawning or spawn
        self._emit_all(refused)
        if spawn:  # the last replacement failed to start: try again, on a helper (submit never waits)
            self._loop.helpers.submit(self._respawn)
        else:
            self._dispatch()

    def abort(self, task_id: str, grace: float) -> bool:
        """Abort the task's job: a queued one ends ``Cancelled`` at once; a running one
        sees ``ctx.is_aborted()`` and, still running ``grace`` seconds later, is killed
        with its process tree (a replacement child takes the queued jobs)."""
        return self._abort(task_id, grace)

    def stop(self, timeout: float) -> list[Job]:
        """Graceful stop: no new job starts, the running one may finish within
        ``timeout`` (else the tree is killed and it ends ``Crashed``), the child
        exits. Returns the jobs that never started, in submission order."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            if self._closed:
                return []
            self._stopping = True
        while True:
            with self._lock:
                while self._respawning:
                    self._state_cond.wait(1.0)
                slot = self._slot
            if slot is None:
                break
            self._stop_slot(slot, deadline, timeout)
        with self._lock:
            unstarted = [e.job for e in sorted(self._pending.values(), key=lambda e: e.seq)]
            self._pending.clear()
            self._unsent.clear()
            self._closed = True
        self._forget_timers()
        _LIVE.discard(self)
        return unstarted

    # --- sending --------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Send the unsent jobs to the current child, as one message."""
        failed: list[tuple[Entry, BaseException]] = []
        with self._send_lock:
            with self._lock:
                slot = self._slot
                if slot is None or not slot.accepting or self._stopping or not self._unsent:
                    return
                batch = [entry for entry in self._unsent if entry.seq in self._pending]
                self._unsent.clear()
                for entry in batch:
                    entry.slot = slot
            items: list[tuple[int, Job, int]] = []
            functions: dict[tuple[str, int], bytes] = {}
            for entry in batch:
                try:
                    items.append((entry.seq, entry.job, self._version(slot, entry, functions)))
                except Exception as exc:  # cloudpickle cannot serialise it
                    failed.append((entry, exc))
            path = None
            if functions and tuple(sys.path) != slot.path_sent:
                path = list(sys.path)  # modules imported since the child started stay importable
                slot.path_sent = tuple(path)
            if items:
                try:
                    data = frame(("run", items, functions, path))
                except Exception as exc:  # does not pickle (jobs are kernel types and JSON: not expected)
                    failed += [(entry, exc) for entry in batch if entry.seq in self._pending]
                else:
                    slot.channel.send(data, _SEND_STALL)
                    if self._rss_limit is not None or any(job.timeout is not None for _, job, _ in items):
                        self._arm_watch()
        reports: list[ExecutorEvent] = []
        with self._lock:
            for entry, error in failed:
                if self._pending.pop(entry.seq, None) is not None:
                    reports.append(JobDone(entry.job.task.id, entry.job.token, Raised(
                        type(error).__name__, f"cannot send the job to the child process: {error}")))
        self._emit_all(reports)

    def _version(self, slot: Slot, entry: Entry, functions: dict[tuple[str, int], bytes]) -> int:
        """The child's version of the entry's function, shipping it when new (send lock held)."""
        name = entry.job.task.name
        shipped = slot.shipped.get(name)
        if shipped is not None and shipped[0] is entry.execute:
            return shipped[1]
        version = next(self._versions)
        functions[(name, version)] = cloudpickle.dumps(entry.execute)
        slot.shipped[name] = (entry.execute, version)
        return version

    def _send(self, slot: Slot, message: tuple[Any, ...]) -> None:
        """Send a control message (never blocks; a gone child drops it)."""
        slot.channel.send(frame(message), _SEND_STALL)

    def _stalled(self, slot: Slot) -> None:
        """The child took nothing from its pipe for ``_SEND_STALL`` s (stopped, frozen): it is
        killed as dead. The job it was running ends ``Crashed``; the others run on the replacement."""
        with self._lock:
            slot.killed = True
            slot.accepting = False
            seq = slot.counters[0]
            reason = (f"the child process (pid {slot.pid}) took nothing from its pipe for {_SEND_STALL:g}s "
                      "(stopped or frozen) and was killed")
            if slot.running(seq) and seq not in slot.doomed:
                slot.doomed[seq] = lambda code: Crashed(reason, code)
        log.warning("%s", reason)
        self._loop.helpers.submit(functools.partial(slot.proc.kill_tree, 0.0))

    def _emit_all(self, events: Sequence[ExecutorEvent]) -> None:
        many = getattr(self._on_event, "many", None)
        if many is not None and events:
            try:
                many(list(events))
            except Exception:
                log.exception("on_event.many failed for %d event(s)", len(events))
            return
        for event in events:
            try:
                self._on_event(event)
            except Exception:
                log.exception("on_event failed for %r", event)

    # --- on the I/O loop ------------------------------------------------------------

    def _on_messages(self, slot: Slot, messages: list[tuple[Any, ...]]) -> None:
        for message in messages:
            if message[0] == "events":
                self._deliver(slot, message[1])
            elif message[0] == "bye":
                slot.leaving = str(message[1])
                slot.accepting = False
            elif message[0] == "create":
                self._answer(slot, answer_create, self._create, *message[1:])
            elif message[0] == "step":
                self._answer(slot, answer_step, self._step, *message[1:])
            elif message[0] in ("trigger", "look"):
                self._answer(slot, answer_call, self._calls, *message)

    def _answer(self, slot: Slot, answer: Callable[..., None], target: Any, *request: Any) -> None:
        """A child's request (``ctx.create_task``, ``ctx.step``, ``ctx.trigger`` / ``ctx.wait``):
        answered on a helper thread (``bookkeeping.answer_*``), so the loop keeps serving every
        child while the store writes or the worker's ``validate`` runs."""
        def reply(message: tuple[Any, ...]) -> None:
            self._send(slot, message)

        self._loop.helpers.submit(functools.partial(answer, target, reply, *request))

    def _check_alive(self, slot: Slot) -> None:
        """Every ``_QUIET_CHECK`` s: a child dead without closing its stream (a grandchild holds
        it open) is treated as dead once what it wrote is read."""
        if slot.gone:
            return
        if not slot.proc.alive():
            slot.channel.drain_and_close()
            return
        self._loop.call_at(_next_tick(), functools.partial(self._check_alive, slot))

    def _on_closed(self, slot: Slot) -> None:
        if slot.gone:
            return
        slot.gone = True
        self._forget_timers()
        self._loop.helpers.submit(functools.partial(self._on_exit, slot))

    # --- the child's life -----------------------------------------------------------

    def _spawn(self) -> Slot:
        """Start a child, wait until it is ready, and hand its socket to the I/O loop.

        Raises:
            ChildStartError: it could not start, died or was not ready in time.
        """
        process, wire, counters = start_child(max_tasks=self._max_tasks, flush_interval=self._flush_interval,
                                              start_timeout=self._start_timeout)
        try:
            proc = Proc(process.pid)
        except ProcGone as exc:
            wire.close()
            raise ChildStartError(f"the child process vanished right after it started: {exc}") from exc
        slot = Slot(process, counters, proc)
        slot.channel = Channel(self._loop, wire.sock, functools.partial(self._on_messages, slot),
                               functools.partial(self._on_closed, slot), functools.partial(self._stalled, slot))
        self._loop.call_at(_next_tick(), functools.partial(self._check_alive, slot))
        return slot

    def _respawn(self) -> None:
        """Start a replacement child (``_respawning`` set by the caller) and send it the jobs."""
        slot: Slot | None = None
        error: ChildStartError | None = None
        try:
            slot = self._spawn()
        except ChildStartError as exc:
            error = exc
        reports: list[ExecutorEvent] = []
        with self._lock:
            self._respawning = False
            if slot is not None:
                self._slot = slot  # even when stopping: ``stop`` then stops it like any child
            else:
                for entry in self._unsent:
                    if self._pending.pop(entry.seq, None) is not None:
                        reports.append(JobDone(entry.job.task.id, entry.job.token, Crashed(
                            f"could not start a child process: {error}")))
                self._unsent.clear()
            self._state_cond.notify_all()
        if error is not None:
            log.error("could not start a replacement child process: %s", error)
        self._emit_all(reports)
        self._dispatch()


def _next_tick() -> float:
    """The next multiple of ``_QUIET_CHECK`` (monotonic): every executor's liveness check
    falls on the same tick, so the loop wakes once for all of them."""
    now = time.monotonic()
    return (now // _QUIET_CHECK + 1) * _QUIET_CHECK


_LIVE: weakref.WeakSet[ProcessExecutor] = weakref.WeakSet()


@atexit.register
def _kill_children_at_exit() -> None:
    """Kill the children of executors nobody stopped (at interpreter exit)."""
    for executor in list(_LIVE):
        executor._stopping = True
        slot = executor._slot
        if slot is not None:
            slot.proc.kill_tree(0.0)
