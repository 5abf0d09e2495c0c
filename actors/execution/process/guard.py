"""What ends a child's job or a child, from the parent side (``Guard``, a part of
``ProcessExecutor``): deadlines, aborts, kills after a grace, the watch over a busy child, a
child's death (settled on a helper thread) and its stop; plus ``Slot``, what the parent knows
about one child.

Timers run on this process's I/O loop (``loop.IOLoop``); a kill that waits (SIGTERM, then
SIGKILL ``term_wait`` later) runs on a helper thread. At a job's deadline the child is asked
to abort (``ctx.is_aborted()`` turns true), and if the job still runs ``kill_grace`` later its
whole process tree is killed. While the child holds jobs with a timeout, or ``rss_limit_mb``
is set, the *watch* looks at it every ``RSS_SAMPLE_INTERVAL`` s: a job running without a
deadline gets one from its start time in the shared counters (its ``JobStarted`` waits in the
child's outbox: the child sends events in batches); a child over ``rss_limit_mb`` (with its
descendants) is killed under its job, which ends ``Crashed`` naming the limit.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...messages import JobDone, JobStarted
from ...models import Cancelled, Crashed, TimedOut
from .bookkeeping import Entry, Kill, OutcomeFor, describe_exit, settle
from .procs import ProcGone, kill_group

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ...messages import ExecutorEvent
    from .loop import Channel, IOLoop, Timer
    from .procs import Proc
    from .spawn import ChildProcess

__all__ = ["RSS_SAMPLE_INTERVAL", "Guard", "Slot"]

log = logging.getLogger(__name__)

RSS_SAMPLE_INTERVAL = 0.2  # the watch samples a busy child's memory this often (seconds)
_EXIT_WAIT = 30.0  # the most ``stop`` waits for a killed child to be reaped


@dataclass(eq=False)
class Slot:
    """One child process and what the parent knows about it."""

    process: ChildProcess
    counters: Any  # shared int64 [started seq, finished seq, started at (monotonic ns)]
    proc: Proc
    channel: Channel = field(init=False)
    shipped: dict[str, tuple[Callable[..., Any], int]] = field(default_factory=dict)
    path_sent: tuple[str, ...] | None = None
    doomed: dict[int, OutcomeFor] = field(default_factory=dict)  # seq -> why we killed it
    accepting: bool = True  # False once retiring, killed or stopping: send it no more jobs
    killed: bool = False  # we killed it: the job running then is innocent unless doomed
    leaving: str | None = None  # it said goodbye (stop, max_tasks_per_child): a clean exit
    gone: bool = False  # its stream ended: its exit is being settled
    exited: threading.Event = field(default_factory=threading.Event)

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def running(self, seq: int) -> bool:
        """True while the child runs job ``seq`` (started, not finished)."""
        return bool(self.counters[0] == seq and self.counters[1] < seq)


class Guard:
    """Deadlines, aborts, kills and the watch of a ``ProcessExecutor`` (see the module docstring)."""

    _lock: threading.Lock
    _state_cond: threading.Condition
    _loop: IOLoop
    _pending: dict[int, Entry]
    _unsent: deque[Entry]
    _slot: Slot | None
    _stopping: bool
    _respawning: bool

    def __init__(self, rss_limit_mb: float | None, kill_grace: float | None, term_wait: float) -> None:
        self._rss_limit_mb = rss_limit_mb
        self._rss_limit = None if rss_limit_mb is None else rss_limit_mb * 2**20
        self._kill_grace = kill_grace
        self._term_wait = term_wait
        self._deadline: Timer | None = None  # one job runs at a time: one deadline
        self._watching = False  # a watch is scheduled
        self._watch_wanted = False  # armed again while it ran

    def _send(self, slot: Slot, message: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def _emit_all(self, events: Sequence[ExecutorEvent]) -> None:
        raise NotImplementedError

    def _respawn(self) -> None:
        raise NotImplementedError

    def _abort(self, task_id: str, grace: float) -> bool:
        reports: list[ExecutorEvent] = []
        sends: list[tuple[Slot, int]] = []
        with self._lock:
            entries = [e for e in self._pending.values() if e.job.task.id == task_id and not e.cancelled]
            for entry in entries:
                if entry.slot is None:
                    del self._pending[entry.seq]
                    reports.append(JobDone(task_id, entry.job.token, Cancelled()))
                else:
                    entry.cancelled = True
                    kill = Kill(time.monotonic() + max(0.0, grace), entry.seq, entry.slot, lambda _code: Cancelled())
                    self._loop.call_at(kill.when, functools.partial(self._on_kill, kill))
                    sends.append((entry.slot, entry.seq))
        for slot, seq in sends:
            self._send(slot, ("abort", seq, Cancelled()))  # the child cancels it if queued
        self._emit_all(reports)
        return bool(entries)

    def _deliver(self, slot: Slot, items: list[tuple[int, ExecutorEvent]]) -> None:
        """A batch of the child's events (on the loop): forwarded, in order, to ``on_event``."""
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
                elif type(event) is JobStarted and entry.job.timeout is not None and not entry.timed:
                    # Both clocks are this machine's: the deadline counts from the child's start.
                    entry.timed = True
                    self._set_deadline(seq, time.monotonic() + event.started + entry.job.timeout - time.time(), slot)
                forward.append(event)
        if done and self._rss_limit is not None and slot.accepting:
            # Before the JobDone goes out: whoever reacts to it must find the child retiring.
            with contextlib.suppress(ProcGone):
                rss = slot.proc.rss()
                if rss > self._rss_limit:
                    log.info("child %s uses %.0f MiB (limit %.0f): replacing it", slot.pid,
                             rss / 2**20, self._rss_limit / 2**20)
                    slot.accepting = False
                    self._send(slot, ("stop",))  # it ends its job, then exits; jobs left rerun
        self._emit_all(forward)

    def _set_deadline(self, seq: int, when: float, slot: Slot) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self._loop.call_at(when, functools.partial(self._on_deadline, seq, slot))

    def _forget_timers(self) -> None:
        """Drop the deadline (a child is gone, or the executor stopped); kills check their slot
        when due."""
        with self._lock:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

    def _arm_watch(self) -> None:
        with self._lock:
            self._watch_wanted = True
            if self._watching:
                return
            self._watching = True
        self._loop.call_at(time.monotonic() + RSS_SAMPLE_INTERVAL, self._watch)

    def _watch(self) -> None:
        with self._lock:
            self._watch_wanted = False
        again = self._on_watch()
        with self._lock:
            again = again or self._watch_wanted
            self._watching = again
        if again:
            self._loop.call_at(time.monotonic() + RSS_SAMPLE_INTERVAL, self._watch)

    def _on_deadline(self, seq: int, slot: Slot) -> None:
        with self._lock:
            entry = self._pending.get(seq)
            if entry is None or entry.cancelled or entry.slot is not slot or not slot.running(seq):
                return
            timeout = entry.job.timeout or 0.0
            grace = self._kill_grace if self._kill_grace is not None else min(1.0, timeout / 10)
            outcome = TimedOut(timeout)
            kill = Kill(time.monotonic() + grace, seq, slot, lambda _code: outcome)
            self._loop.call_at(kill.when, functools.partial(self._on_kill, kill))
        self._send(slot, ("abort", seq, outcome))

    def _on_watch(self) -> bool:
        """Every ``RSS_SAMPLE_INTERVAL`` s while the child holds jobs: a job seen running
        without a deadline gets one, from its start in the shared counters; a child over
        ``rss_limit_mb`` is killed and its job ends ``Crashed``. False: nothing to watch."""
        with self._lock:
            slot = self._slot
            if slot is None or slot.killed or not any(e.slot is slot for e in self._pending.values()):
                return False
            seq = slot.counters[0]
            entry = self._pending.get(seq)
            if entry is None or entry.slot is not slot or not slot.running(seq):
                return True
            if entry.job.timeout is not None and not entry.timed:
                entry.timed = True
                started = slot.counters[2] / 1e9 or time.monotonic()  # written before the seq
                self._set_deadline(seq, started + entry.job.timeout, slot)
        if self._rss_limit is None:
            return True
        rss = slot.proc.tree_rss()
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
        self._loop.helpers.submit(functools.partial(slot.proc.kill_tree, 0.0))  # no grace: it may be allocating
        return False

    def _on_kill(self, kill: Kill) -> None:
        slot: Slot = kill.slot
        with self._lock:
            if kill.seq not in self._pending or slot is not self._slot or not slot.running(kill.seq):
                return  # it returned within its grace, or the child is gone already
            slot.doomed[kill.seq] = kill.outcome
            slot.killed = True
            slot.accepting = False
        log.info("killing child %s and its process tree (job %s)", slot.pid, kill.seq)
        self._loop.helpers.submit(functools.partial(slot.proc.kill_tree, self._term_wait))

    # --- the end of a child (on a helper thread, or the caller of stop) ---------------

    def _on_exit(self, slot: Slot) -> None:
        """The child is gone (or its pipe is): report, requeue, replace."""
        if not slot.proc.wait_dead(2.0):  # its pipe closed but it lives on: make sure it is dead
            slot.killed = True
            slot.proc.kill_tree(0.0)
        clean = slot.leaving is not None and not slot.killed
        if not clean:
            kill_group(slot.pid)  # whatever its tasks started and left behind
        slot.process.join(5.0)
        exitcode = slot.process.exitcode
        reason = describe_exit(slot.pid, exitcode)
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

    def _stop_slot(self, slot: Slot, deadline: float, timeout: float) -> None:
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
        slot.proc.kill_tree(self._term_wait)
        if not slot.exited.wait(_EXIT_WAIT):
            log.error("child %s did not exit after it was killed", slot.pid)
