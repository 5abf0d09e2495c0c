"""The supervisor actor's fail-safe and supervising half (a mixin of ``SupervisorActor``).

Failing safe: a store operation that fails (``claim``, ``finish``, ``release``,
``wake``, ``create``, ``write``, ...) is counted in :class:`actors.health.Health`
(logged once per burst) and tried again at its back-off time, when the scheduler
is woken for it; what could not be written is kept (attempt ends and releases
always, progress / metadata / logs up to ``MAX_KEPT``).

Supervising (Erlang/OTP ``one_for_one``): a child that dies tells ``ChildExited``;
its claims go back to the store and it is restarted, unless that is more than
``max_restarts`` restarts within ``restart_window`` seconds: then the node stops
itself (``_halt``) and every later call raises ``NodeStopped`` with the reason.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pykka

from .errors import NodeStopped
from .messages import ChildExited, Job, JobDone, JobMetadata, ReleaseAll, StopWorker

if TYPE_CHECKING:
    from .clock import Clock
    from .health import Health
    from .intensity import RestartIntensity
    from .maintenance import Maintenance
    from .messages import WorkerSlot
    from .models import Claim
    from .pool import Pool
    from .storage.base import TaskStore

__all__ = ["MAX_KEPT", "Supervising"]

log = logging.getLogger("actors")

#: Most progress / metadata / log events kept while the store is unavailable
#: (attempt ends are always kept: at most one per claim held).
MAX_KEPT = 10_000


class Supervising:
    """Fail-safe store writes and child supervision, for ``SupervisorActor``."""

    if TYPE_CHECKING:  # provided by SupervisorActor
        actor_ref: pykka.ActorRef[Any]
        _store: TaskStore
        _clock: Clock
        _cfg: Any
        _health: Health
        _intensity: RestartIntensity
        _maintenance: Maintenance
        _pool: Pool[int]
        _slots: list[WorkerSlot]
        _held: dict[str, Claim]
        _buffer: list[Any]
        _unreleased: list[tuple[str, str]]
        _waiters: dict[str, list[Any]]
        _idle_waiters: list[Any]
        _scheduler: Any
        _stopping: bool
        _halted: str | None
        dropped: int
        last_tick: float | None

        def _release(self, jobs: list[Job], *, force: bool = False) -> None: ...
        def _shutdown(self) -> int: ...
        def _invalidate(self) -> None: ...
        def _listener_health(self) -> dict[str, Any] | None: ...

    # --- failing safe ----------------------------------------------------------------------

    def _failed(self, op: str, exc: BaseException) -> None:
        """``op`` failed: count it, and wake the scheduler when it may be tried again."""
        retry = self._health.failed(op, exc, self._clock.now())
        if self._scheduler is not None:
            self._scheduler.wake_at(retry)

    def _read(self, read: Any, default: Any) -> Any:
        """A read for ``stats()``: ``default`` (and the ``stats`` operation failing) if it fails."""
        now = self._clock.now()
        try:
            value = read()
        except Exception as exc:
            self._health.failed("stats", exc, now)
            return default
        self._health.succeeded("stats", now)
        return value

    def _ready(self, *ops: str) -> bool:
        now = self._clock.now()
        return all(self._health.ready(op, now) for op in ops)

    def _refuse(self, message: Any) -> Any:
        """The node stopped itself: a waiter learns why, a caller gets ``NodeStopped``."""
        error = NodeStopped(self._halted or "the node was stopped", self._stats_health())
        future = getattr(message, "future", None)
        if future is not None:
            future.set_exception(error)
            return None
        raise error

    def _fail_waiters(self, error: BaseException) -> None:
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.set_exception(error)
        self._waiters = {}
        for future in self._idle_waiters:
            if not future.done():
                future.set_exception(error)
        self._idle_waiters = []

    def _write(self, op: str, now: float, write: Any, *args: Any) -> bool:
        """One write of ``_flush``; False (counted in the health) if it failed."""
        try:
            write(*args)
        except Exception as exc:
            self._failed(op, exc)
            return False
        self._health.succeeded(op, now)
        return True

    def _merge_all(self, events: list[JobMetadata], now: float) -> None:
        for index, event in enumerate(events):
            try:
                self._store.merge_metadata(event.task_id, event.token, event.values, now)
            except Exception:
                del events[:index]  # the ones written are not kept for the retry
                raise

    def _progress_all(self, progress: dict[tuple[str, str], float], now: float) -> None:
        for (task_id, token), value in list(progress.items()):
            self._store.set_progress(task_id, token, value, now)
            del progress[(task_id, token)]  # written: not kept for the retry

    def _keep(self, events: list[Any]) -> None:
        """Put events back at the head of the buffer; beyond ``MAX_KEPT`` the oldest events
        that are not attempt ends are dropped (counted in ``stats()["health"]["dropped"]``)."""
        self._buffer[:0] = events
        excess = len(self._buffer) - MAX_KEPT
        if excess <= 0:
            return
        kept: list[Any] = []
        for event in self._buffer:
            if excess > 0 and not isinstance(event, JobDone):
                excess -= 1
                self.dropped += 1
                continue
            kept.append(event)
        self._buffer = kept
        log.warning("store unavailable: %d kept progress/metadata/log/create event(s) dropped so far "
                    "(more than %d waited)", self.dropped, MAX_KEPT)

    def _write_releases(self, *, force: bool = False) -> None:
        now = self._clock.now()
        if not self._unreleased or not (force or self._health.ready("release", now)):
            return
        pairs, self._unreleased = self._unreleased, []
        if not self._write("release", now, self._store.release, pairs, now):
            self._unreleased[:0] = pairs

    def _stats_health(self) -> dict[str, Any]:
        return {
            "ok": self._halted is None and self._health.ok and all(
                loop["ok"] for loop in self._maintenance.stats().values()),
            "scheduler": bool(self._scheduler is not None and self._scheduler.alive),
            "last_tick": self.last_tick,
            "loops": self._maintenance.stats(),
            "listener": self._listener_health(),
            "ops": self._health.as_dict(),
            "kept": len(self._buffer) + len(self._unreleased),
            "dropped": self.dropped,
            "restarts": self._intensity.total,
            "stopped": self._halted,
        }

    def _child_exited(self, message: ChildExited) -> None:
        """A child died: give back what it held, then restart it (one_for_one), unless that is
        one restart too many (``max_restarts`` within ``restart_window``): then stop the node."""
        if self._stopping:
            return  # stopping anyway: nothing to restart
        log.error("%s %s exited: %s", message.kind, message.key or "", message.reason)
        key = self._worker_key(message.key) if message.kind == "worker" else None
        if key is not None:
            self._worker_lost(key, message.jobs)
        elif message.kind == "worker":
            return  # not one of ours (already replaced)
        while True:
            now = self._clock.now()
            if not self._intensity.allow(now):
                self._halt(f"{self._intensity.recent(now)} child restarts within {self._intensity.within}s, "
                           f"more than the {self._intensity.max_restarts} allowed (last: {message.kind} "
                           f"exited: {message.reason})")
                return
            try:
                self._restart(message.kind, key)
                return
            except Exception as exc:  # counts as one more restart
                log.error("could not restart the %s: %s", message.kind, exc)

    def _worker_key(self, ref: Any) -> int | None:
        urn = getattr(ref, "actor_urn", None)
        return next((key for key, slot in enumerate(self._slots) if slot.ref.actor_urn == urn), None)

    def _worker_lost(self, key: int, unstarted: tuple[Job, ...]) -> None:
        """Worker ``key`` is dead (its executor stopped): its jobs that never ran and those whose end
        never came go back to the store (an end already buffered is recorded as reported)."""
        held = set(self._pool.retire(key)) | {job.task.id for job in unstarted}
        reported = {event.task_id for event in self._buffer if isinstance(event, JobDone)}
        jobs = [Job(claim.task, claim.token, claim.task.attempts, None)
                for task_id, claim in list(self._held.items()) if task_id in held and task_id not in reported]
        self._release(jobs)

    def _restart(self, kind: str, key: int | None) -> None:
        if kind == "scheduler":
            if self._scheduler is not None:
                self._scheduler.restart()
                self._scheduler.wake_at(self._clock.now())
            return
        assert key is not None
        restart = self._slots[key].restart
        if restart is None:
            return  # this worker cannot be replaced: the others serve
        self._slots[key] = restart()
        self._pool.revive(key)
        log.warning("worker %d restarted", key)
        self._invalidate()

    def _halt(self, reason: str) -> None:
        """Stop the node from inside (OTP: a supervisor past its restart intensity): no more
        claims, the children stopped, every claim given back; later calls raise ``NodeStopped``."""
        self._halted = reason
        self._stopping = True
        log.error("node %s stops itself: %s", self._cfg.node_id, reason)
        if self._scheduler is not None:
            self._scheduler.stop()
        self._shutdown()
        futures = []
        for slot in self._slots:
            try:
                futures.append(slot.ref.ask(StopWorker(self._cfg.abort_grace), block=False))
            except pykka.ActorDeadError:
                continue
        for future in futures:
            try:
                self._release(list(future.get(timeout=self._cfg.abort_grace + 5)), force=True)
            except Exception:  # a dead or stuck worker: its claims are given back below
                log.debug("a worker did not stop cleanly", exc_info=True)
        for slot in self._slots:
            slot.ref.stop(block=False)
        self._fail_waiters(NodeStopped(reason, self._stats_health()))
        self.actor_ref.tell(ReleaseAll())  # after the reports the workers sent while stopping

