"""The scheduler: sends ``Tick(now)`` to the supervisor when something is due.

It sleeps until the earliest time it was asked to wake at (the next due task,
retry, recurring run or lease check), not on a fixed short poll; a change that
moves the earliest due time wakes it at once through :meth:`Scheduler.wake_at`.
It also wakes every ``poll_interval`` seconds so rows written by another process
(a CLI, another node) are noticed.

pykka actors block on their inbox and have no timers, so the scheduler is a
small thread of its own: its only input is ``wake_at`` and its only output is
the ``Tick`` message. Tests do without it: they call the supervisor's ``tick``.

At most one tick is in flight: the next is sent only once the supervisor has
taken the last one (it calls :meth:`Scheduler.taken` when it starts handling a tick
marked ``scheduled``; the message carries no callback). Wake-ups requested meanwhile (a LISTEN
notification per task another process creates, hundreds a second) fold into
that next tick. Sent one per wake-up, ticks would pile up in the supervisor's
inbox faster than it handles them, and the workers' attempt ends queued behind
them would wait there while every slot stayed full.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

from ..clock import Clock
from ..messages import ChildExited, Tick

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)


class Scheduler:
    """Wakes the supervisor at the next due time.

    Args:
        target: the supervisor's ``ActorRef`` (anything with ``tell``); None: given to
            :meth:`start` (the composition root builds the scheduler before the supervisor).
        clock: where the time is read.
        poll_interval: the longest sleep between two ticks (external changes).
    """

    def __init__(self, target: Any, clock: Clock, poll_interval: float = 0.1) -> None:
        self._target = target
        self._clock = clock
        self._poll = poll_interval
        self._wake = -math.inf  # tick at once on start
        self._cond = threading.Condition()
        self._stopped = False
        self._in_flight = False  # a tick was sent and the supervisor has not taken it yet
        self._thread = self._new_thread()

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._guarded, name="actors-scheduler", daemon=True)

    def start(self, target: Any = None) -> Scheduler:
        """Start the thread (sending to ``target`` when given; else the one built with)."""
        if target is not None:
            self._target = target
        self._thread.start()
        return self

    def restart(self) -> None:
        """Start a new thread after the last one died (the supervisor's ``ChildExited``)."""
        with self._cond:
            if self._stopped or self._thread.is_alive():
                return
            self._in_flight = False
            self._wake = -math.inf
            self._thread = self._new_thread()
        self._thread.start()

    def _guarded(self) -> None:
        """The thread: ``_run``; if that raises, the supervisor hears of it and restarts it."""
        try:
            self._run()
        except Exception as exc:
            log.exception("scheduler thread died")
            try:
                self._target.tell(ChildExited("scheduler", None, f"{type(exc).__name__}: {exc}"))
            except Exception:
                log.debug("scheduler: the supervisor is gone too")

    def wake_at(self, when: float) -> None:
        """Tick no later than ``when`` (epoch seconds); earlier requests win."""
        with self._cond:
            if when < self._wake:
                self._wake = when
                self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def taken(self) -> None:
        """The supervisor started handling the last tick: the next one may be sent."""
        with self._cond:
            self._in_flight = False
            self._cond.notify()

    def _target_gone(self) -> bool:
        is_alive = getattr(self._target, "is_alive", None)
        return is_alive is not None and not is_alive()

    def _run(self) -> None:
        last_tick = -math.inf
        while True:
            with self._cond:
                if self._stopped:
                    return
                if self._in_flight:
                    # the tick in the inbox reads the clock and the store when it is handled:
                    # any wake-up requested until then is served by it or by the next one
                    self._cond.wait(timeout=self._poll)
                    if self._in_flight and self._target_gone():
                        log.debug("scheduler target stopped; scheduler exits")
                        return
                    continue
                now = self._clock.now()
                deadline = min(self._wake, last_tick + self._poll)
                if now < deadline:
                    self._cond.wait(timeout=deadline - now)
                    continue
                # the supervisor answers each tick with wake_at(its next due time)
                self._wake = math.inf
                self._in_flight = True
                last_tick = now
            try:
                self._target.tell(Tick(now, scheduled=True))
            except Exception:  # the supervisor is gone: nothing left to wake
                log.debug("scheduler target stopped; scheduler exits")
                return
