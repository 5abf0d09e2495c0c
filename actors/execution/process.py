"""``ProcessExecutor``: one child process (a fresh interpreter) runs jobs one after another.

The only module that imports ``cloudpickle`` and ``psutil``; the child side is
``_child.py``, the rest of the parent side ``_parent.py``. Jobs travel over a
socket pair (``_wire.Wire``: length-prefixed pickles), in batches: ``submit`` sends all its jobs as
one message (with the cloudpickled functions the child has not seen yet: once
per task name, again when the function object changes), and the child sends
events back in batches (see ``_child``). Nothing goes through the database.

Two threads per executor in this process:

- the *reader* receives the child's batches and calls ``on_event`` (in order:
  a job's progress / metadata / log events, then its ``JobDone``) and answers its
  ``ctx.create_task`` requests (each on a thread of its own, ``_parent.answer_create``); it
  notices the child's death, reports the job that was running, starts a
  replacement and resubmits the jobs that had not started;
- the *timer* (``_parent.Timers``) enforces deadlines: at a job's deadline it asks
  the child to abort (``ctx.is_aborted()`` turns true), and if the job still runs
  ``kill_grace`` later it kills the child's whole process tree (SIGTERM, then
  SIGKILL). While the child holds jobs with a timeout, or ``rss_limit_mb`` is set,
  it also *watches* the child every ``RSS_SAMPLE_INTERVAL`` s (``_on_watch``): a child
  over ``rss_limit_mb`` (with its descendants) is killed under its job, which ends
  ``Crashed`` naming the limit; a job seen running whose ``JobStarted`` never came (the
  child froze at once) gets its deadline from the moment it was seen.

Sends to the child never block for long: a child that takes nothing from its pipe
for ``_SEND_STALL`` s (stopped by SIGSTOP, frozen) is killed as dead (``_stalled``).

A dead child's jobs (``_parent.settle``): the one running ends ``Crashed`` (or
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
import contextlib
import itertools
import logging
import os
import signal
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cloudpickle
import psutil

from ..errors import ValidationError
from ..messages import JobDone, JobStarted
from ..models import Cancelled, Crashed, Raised, TimedOut
from ._parent import (
    ChildStartError,
    Entry,
    Kill,
    OutcomeFor,
    Timers,
    answer_create,
    describe_exit,
    number,
    settle,
    start_child,
)
from ._wire import Stalled

if TYPE_CHECKING:
    from ..messages import ExecutorEvent, Job
    from ._wire import Wire
    from .base import Creator, EventSink

__all__ = ["ChildStartError", "ProcessExecutor"]

log = logging.getLogger(__name__)

_QUIET_CHECK = 0.5  # the reader checks that a quiet child is still alive this often (seconds)
_TERM_WAIT = 1.0  # a tree kill waits this long after SIGTERM before SIGKILL
_EXIT_WAIT = 30.0  # the most ``stop`` waits for a killed child to be reaped
RSS_SAMPLE_INTERVAL = 0.2  # the watch samples a busy child's memory this often (seconds)
_TREE_REFRESH = 1.0  # the watch lists the child's descendants again this often (it reads all of /proc)
_SEND_STALL = 5.0  # a child that takes nothing from its pipe this long (seconds) is killed as dead


@dataclass(eq=False)
class _Slot:
    """One child process and what the parent knows about it."""

    process: Any
    conn: Wire
    counters: Any  # shared int64 pair [started seq, finished seq]
    ps: psutil.Process
    shipped: dict[str, tuple[Callable[..., Any], int]] = field(default_factory=dict)
    path_sent: tuple[str, ...] | None = None
    doomed: dict[int, OutcomeFor] = field(default_factory=dict)  # seq -> why we killed it
    accepting: bool = True  # False once retiring, killed or stopping: send it no more jobs
    killed: bool = False  # we killed it: the job running then is innocent unless doomed
    leaving: str | None = None  # it said goodbye (stop, max_tasks_per_child): a clean exit
    exited: threading.Event = field(default_factory=threading.Event)
    tree: list[psutil.Process] = field(default_factory=list)  # its descendants, as last listed
    tree_at: float = 0.0  # when to list them again (monotonic)

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def running(self, seq: int) -> bool:
        """True while the child runs job ``seq`` (started, not finished)."""
        return bool(self.counters[0] == seq and self.counters[1] < seq)


class ProcessExecutor:
    """An ``Executor`` owning one child process (a fresh interpreter, see ``_parent.start_child``).

    Args:
        on_event: receives every event, from the executor's reader thread
            (``JobDone`` for jobs refused at ``submit``: from the caller).
        create: the jobs' ``ctx.create_task`` (a ``Creator``): a child's request is
            answered on a thread started for it (see ``_parent.answer_create``).
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
                 start_timeout: float = 60.0, flush_interval: float = 0.005) -> None:
        rss = number("rss_limit_mb", rss_limit_mb, minimum=0, open_min=True)
        self._rss_limit_mb = rss
        self._rss_limit = None if rss is None else rss * 2**20
        if max_tasks_per_child is not None and (
                isinstance(max_tasks_per_child, bool) or not isinstance(max_tasks_per_child, int)
                or max_tasks_per_child < 1):
            raise ValidationError("max_tasks_per_child", max_tasks_per_child, "must be an int >= 1 or None")
        self._max_tasks = max_tasks_per_child
        self._kill_grace = number("kill_grace", kill_grace, minimum=0)
        self._start_timeout = number("start_timeout", start_timeout, minimum=0, open_min=True) or 60.0
        self._flush_interval = number("flush_interval", flush_interval, minimum=0) or 0.0
        self._on_event = on_event
        self._create = create
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
        self._slot: _Slot | None = None
        self._slot = self._start_reader(self._spawn())
        self._timers = Timers(self._on_deadline, self._on_kill, self._on_watch, RSS_SAMPLE_INTERVAL)
        _LIVE.add(self)

    @property
    def pid(self) -> int | None:
        """The current child's process id (None while it is being replaced, or after ``stop``)."""
        slot = self._slot
        return None if slot is None else slot.pid

    # --- the Executor protocol ------------------------------------------------------

    def submit(self, jobs: Sequence[Job], functions: Mapping[str, Callable[..., Any]]) -> None:
        """Queue ``jobs`` (sent to the child at once, as one message). Never waits for a job or
        for a child to start (safe from any thread: the supervisor calls it from its own).

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
        if spawn:  # the last replacement failed to start: try again, on a thread (submit never waits)
            threading.Thread(target=self._respawn, name="actors-executor-respawn", daemon=True).start()
        else:
            self._dispatch()

    def abort(self, task_id: str, grace: float) -> bool:
        """Abort the task's job: a queued one ends ``Cancelled`` at once; a running one
        sees ``ctx.is_aborted()`` and, still running ``grace`` seconds later, is killed
        with its process tree (a replacement child takes the queued jobs)."""
        reports: list[ExecutorEvent] = []
        sends: list[tuple[_Slot, int]] = []
        with self._lock:
            entries = [e for e in self._pending.values() if e.job.task.id == task_id and not e.cancelled]
            for entry in entries:
                if entry.slot is None:
                    del self._pending[entry.seq]
                    reports.append(JobDone(task_id, entry.job.token, Cancelled()))
                else:
                    entry.cancelled = True
                    when = time.monotonic() + max(0.0, grace)
                    self._timers.add_kill(Kill(when, entry.seq, entry.slot, lambda _code: Cancelled()))
                    sends.append((entry.slot, entry.seq))
        for slot, seq in sends:
            self._send(slot, ("abort", seq, Cancelled()))  # the child cancels it if queued
        self._emit_all(reports)
        return bool(entries)

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
        self._timers.close()
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
                failed += self._send_batch(slot, items, functions, path)
                if self._rss_limit is not None or any(job.timeout is not None for _, job, _ in items):
                    self._timers.watch()
        reports: list[ExecutorEvent] = []
        with self._lock:
            for entry, error in failed:
                if self._pending.pop(entry.seq, None) is not None:
                    reports.append(JobDone(entry.job.task.id, entry.job.token, Raised(
                        type(error).__name__, f"cannot send the job to the child process: {error}")))
        self._emit_all(reports)

    def _version(self, slot: _Slot, entry: Entry, functions: dict[tuple[str, int], bytes]) -> int:
        """The child's version of the entry's function, shipping it when new (send lock held)."""
        name = entry.job.task.name
        shipped = slot.shipped.get(name)
        if shipped is not None and shipped[0] is entry.execute:
            return shipped[1]
        version = next(self._versions)
        functions[(name, version)] = cloudpickle.dumps(entry.execute)
        slot.shipped[name] = (entry.execute, version)
        return version

    def _send_batch(self, slot: _Slot, items: list[tuple[int, Job, int]],
                    functions: dict[tuple[str, int], bytes],
                    path: list[str] | None) -> list[tuple[Entry, BaseException]]:
        try:
            slot.conn.send(("run", items, functions, path), stall=_SEND_STALL)
        except Stalled:
            self._stalled(slot)  # its reader reports the jobs: none of these started
        except (OSError, ValueError):
            pass  # the child is gone: its reader resubmits these jobs
        except Exception as exc:  # does not pickle (jobs are kernel types and JSON: not expected)
            return [(entry, exc) for seq, _, _ in items if (entry := self._pending.get(seq)) is not None]
        return []

    def _send(self, slot: _Slot, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            try:
                slot.conn.send(message, stall=_SEND_STALL)
            except Stalled:
                self._stalled(slot)
            except (OSError, ValueError):
                pass  # the child is gone: its reader reports it

    def _stalled(self, slot: _Slot) -> None:
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
        _kill_tree(slot.ps, 0.0)

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

    # --- the reader thread ----------------------------------------------------------

    def _read(self, slot: _Slot) -> None:
        conn = slot.conn
        try:
            while True:
                if conn.poll(_QUIET_CHECK):
                    self._on_message(slot, conn.recv())
                elif not _alive(slot.ps):
                    while conn.poll(0):  # what it wrote before dying
                        self._on_message(slot, conn.recv())
                    break
        except (EOFError, OSError):
            pass
        except Exception:
            log.exception("executor reader failed; treating the child %s as dead", slot.pid)
        self._on_exit(slot)

    def _on_message(self, slot: _Slot, message: tuple[Any, ...]) -> None:
        if message[0] == "events":
            self._deliver(slot, message[1])
        elif message[0] == "bye":
            slot.leaving = str(message[1])
            slot.accepting = False
        elif message[0] == "create":
            self._answer_create(slot, message[1:])

    def _answer_create(self, slot: _Slot, request: tuple[Any, ...]) -> None:
        """A child's ``ctx.create_task``: answered on a thread of its own, so the reader keeps
        reading (and noticing the child's death) while the worker's ``validate`` runs."""
        def reply(message: tuple[Any, ...]) -> None:
            self._send(slot, message)

        threading.Thread(target=answer_create, args=(self._create, reply, *request),
                         name=f"actors-executor-create-{slot.pid}", daemon=True).start()

    def _deliver(self, slot: _Slot, items: list[tuple[int, ExecutorEvent]]) -> None:
        forward: list[ExecutorEvent] = []
        done = 0
        with self._lock:
            for seq, event in items:
                entry = self._pending.get(seq)
                if entry is None or entry.slot is not slot:
                    continue  # reported already (e.g. events a task's thread sent after it ended)
                if type(event) is JobDone:
                    del self._pending[seq]
                    done += 1
                elif type(event) is JobStarted and entry.job.timeout is not None:
                    # Both clocks are this machine's: the deadline counts from the child's start.
                    when = time.monotonic() + event.started + entry.job.timeout - time.time()
                    self._timers.set_deadline(seq, when, slot)
                    entry.timed = True
                forward.append(event)
        if done and self._rss_limit is not None and slot.accepting:
            # Before the JobDone goes out: whoever reacts to it must find the child retiring.
            with contextlib.suppress(psutil.Error):
                rss = slot.ps.memory_info().rss
                if rss > self._rss_limit:
                    log.info("child %s uses %.0f MiB (limit %.0f): replacing it", slot.pid,
                             rss / 2**20, self._rss_limit / 2**20)
                    slot.accepting = False
                    self._send(slot, ("stop",))  # it ends its job, then exits; jobs left rerun
        self._emit_all(forward)

    def _on_exit(self, slot: _Slot) -> None:
        """The child is gone (or its pipe is): report, requeue, replace."""
        if not _wait_dead(slot.ps, 2.0):  # its pipe closed but it lives on: make sure it is dead
            slot.killed = True
            _kill_tree(slot.ps, 0.0)
        clean = slot.leaving is not None and not slot.killed
        if not clean:
            _kill_group(slot.pid)  # whatever its tasks started and left behind
        slot.process.join(5.0)
        exitcode = slot.process.exitcode
        with contextlib.suppress(Exception):
            slot.conn.close()
        reason = describe_exit(slot.pid, exitcode)
        self._timers.forget(slot)
        with self._lock:
            mine = [entry for entry in self._pending.values() if entry.slot is slot]
            reports, rerun = settle(mine, started=slot.counters[0], finished=slot.counters[1],
                                    doomed=slot.doomed, killed=slot.killed, crash=Crashed(reason, exitcode),
                                    exitcode=exitcode)
            for seq in {entry.seq for entry in mine} - {entry.seq for entry in rerun}:
                del self._pending[seq]
            for entry in rerun:
                entry.slot = None
            if rerun:
                self._unsent = deque(sorted([*rerun, *self._unsent], key=lambda e: e.seq))
            if self._slot is slot:
                self._slot = None
            respawn = not self._stopping and self._slot is None and not self._respawning
            self._respawning = self._respawning or respawn
            self._state_cond.notify_all()
        if clean:
            log.debug("child %s exited: %s", slot.pid, slot.leaving)
        elif slot.killed:
            log.info("%s (killed); %d job(s) reported, %d to run again", reason, len(reports), len(rerun))
        else:
            log.warning("%s; %d job(s) reported, %d to run again", reason, len(reports), len(rerun))
        self._emit_all(reports)
        slot.exited.set()
        if respawn:
            self._respawn()

    # --- the child's life -----------------------------------------------------------

    def _spawn(self) -> _Slot:
        """Start a child and wait until it is ready.

        Raises:
            ChildStartError: it could not start, died or was not ready in time.
        """
        process, conn, counters = start_child(max_tasks=self._max_tasks, flush_interval=self._flush_interval,
                                              start_timeout=self._start_timeout)
        try:
            return _Slot(process, conn, counters, psutil.Process(process.pid))
        except psutil.Error as exc:
            conn.close()
            raise ChildStartError(f"the child process vanished right after it started: {exc}") from exc

    def _start_reader(self, slot: _Slot) -> _Slot:
        """Start the slot's reader thread (once the slot is attached, so its exit finds it)."""
        threading.Thread(target=self._read, args=(slot,), name=f"actors-executor-reader-{slot.pid}",
                         daemon=True).start()
        return slot

    def _respawn(self) -> None:
        """Start a replacement child (``_respawning`` set by the caller) and send it the jobs."""
        slot: _Slot | None = None
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
                self._start_reader(slot)
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

    def _stop_slot(self, slot: _Slot, deadline: float, timeout: float) -> None:
        slot.accepting = False
        self._send(slot, ("stop",))
        if slot.exited.wait(max(0.0, deadline - time.monotonic())):
            return
        with self._lock:
            started, finished = slot.counters[0], slot.counters[1]
            if started > finished:
                slot.doomed[started] = lambda code: Crashed(
                    f"still running when the executor stopped; killed after {timeout:g}s", code)
            slot.killed = True
        _kill_tree(slot.ps, _TERM_WAIT)
        if not slot.exited.wait(_EXIT_WAIT):
            log.error("child %s did not exit after it was killed", slot.pid)

    # --- timers (called on the timer thread) ----------------------------------------

    def _on_deadline(self, seq: int, slot: _Slot) -> None:
        with self._lock:
            entry = self._pending.get(seq)
            if entry is None or entry.cancelled or entry.slot is not slot or not slot.running(seq):
                return
            timeout = entry.job.timeout or 0.0
            grace = self._kill_grace if self._kill_grace is not None else min(1.0, timeout / 10)
            outcome = TimedOut(timeout)
            self._timers.add_kill(Kill(time.monotonic() + grace, seq, slot, lambda _code: outcome))
        self._send(slot, ("abort", seq, outcome))

    def _on_watch(self) -> bool:
        """Every ``RSS_SAMPLE_INTERVAL`` s while the child holds jobs: a job seen running
        without a deadline gets one (its ``JobStarted`` froze in the child's outbox); a child
        over ``rss_limit_mb`` is killed and its job ends ``Crashed``. False: nothing to watch."""
        with self._lock:
            slot = self._slot
            if slot is None or slot.killed or not any(e.slot is slot for e in self._pending.values()):
                return False
            seq = slot.counters[0]
            entry = self._pending.get(seq)
            if entry is None or entry.slot is not slot or not slot.running(seq):
                return True
            if entry.job.timeout is not None and not entry.timed:
                entry.timed = True  # seen running now: it started at the latest a period ago
                self._timers.set_deadline(seq, time.monotonic() + entry.job.timeout, slot)
        if self._rss_limit is None:
            return True
        rss = _tree_rss(slot)
        if rss <= self._rss_limit:
            return True
        reason = (f"the child process (pid {slot.pid}) was killed: RSS {rss / 2**20:.0f} MiB over "
                  f"rss_limit_mb={self._rss_limit_mb:g}")
        with self._lock:
            if slot.killed or not slot.running(seq):
                return True  # the job ended meanwhile: the check after it retires the child
            slot.doomed[seq] = lambda code: Crashed(reason, code)
            slot.killed = True
            slot.accepting = False
        log.warning("%s (job %s)", reason, seq)
        _kill_tree(slot.ps, 0.0)  # no SIGTERM grace: it may be allocating still
        return False

    def _on_kill(self, kill: Kill) -> None:
        slot: _Slot = kill.slot
        with self._lock:
            if kill.seq not in self._pending or slot is not self._slot or not slot.running(kill.seq):
                return  # it returned within its grace, or the child is gone already
            slot.doomed[kill.seq] = kill.outcome
            slot.killed = True
            slot.accepting = False
        log.info("killing child %s and its process tree (job %s)", slot.pid, kill.seq)
        _kill_tree(slot.ps, _TERM_WAIT)


# --- helpers ------------------------------------------------------------------------------


def _alive(ps: psutil.Process) -> bool:
    """True while the process runs (a zombie is dead; nothing is reaped here)."""
    try:
        return ps.is_running() and ps.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _tree_rss(slot: _Slot) -> int:
    """Resident bytes of the child and its descendants (listed again every ``_TREE_REFRESH`` s:
    listing reads every process of the machine; one that is gone counts 0)."""
    now = time.monotonic()
    if now >= slot.tree_at:
        slot.tree_at = now + _TREE_REFRESH
        with contextlib.suppress(psutil.Error):
            slot.tree = slot.ps.children(recursive=True)
    total = 0
    for proc in (slot.ps, *slot.tree):
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def _wait_dead(ps: psutil.Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(ps):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def _kill_tree(ps: psutil.Process, term_wait: float) -> None:
    """SIGTERM the process and all its descendants, SIGKILL those alive ``term_wait`` later.

    Descendants are listed first, while the parent still links them. Nothing is
    reaped: the reader thread joins the child and reads its exit code.
    """
    try:
        victims = [*ps.children(recursive=True), ps]
    except psutil.Error:
        victims = [ps]
    for victim in victims:
        with contextlib.suppress(psutil.Error):
            if term_wait > 0:
                victim.terminate()
            else:
                victim.kill()
    deadline = time.monotonic() + term_wait
    alive = [v for v in victims if _alive(v)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.01)
        alive = [v for v in alive if _alive(v)]
    for victim in alive:
        with contextlib.suppress(psutil.Error):
            victim.kill()


def _kill_group(pid: int) -> None:
    """SIGKILL what is left of the dead child's process group (the child made itself its leader)."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


_LIVE: weakref.WeakSet[ProcessExecutor] = weakref.WeakSet()


@atexit.register
def _kill_children_at_exit() -> None:
    """Kill the children of executors nobody stopped (at interpreter exit)."""
    for executor in list(_LIVE):
        executor._stopping = True
        slot = executor._slot
        if slot is not None:
            _kill_tree(slot.ps, 0.0)
