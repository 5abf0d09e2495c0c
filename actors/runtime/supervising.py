"""The supervisor actor's fail-safe and supervising half (a mixin of ``SupervisorActor``).

Failing safe: a store operation that fails (``claim``, ``finish``, ``release``,
``wake``, ``create``, ``write``, ...) is counted in :class:`actors.runtime.health.Health`
(logged once per burst) and tried again at its back-off time, when the scheduler
is woken for it; what could not be written is kept by the recorder
(``actors.runtime.recorder``: attempt ends and releases always, progress / metadata /
logs up to ``MAX_KEPT``).

Supervising (Erlang/OTP ``one_for_one``): a child that dies tells ``ChildExited``;
its claims go back to the store and it is restarted, unless that is more than
``max_restarts`` restarts within ``restart_window`` seconds: then the node stops
itself (``_halt``) and every later call raises ``NodeStopped`` with the reason.
Stopping: ``_shutdown`` (no more claims) and ``_release_all`` (every claim back).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pykka

from ..errors import NodeStopped
from ..messages import ChildExited, Job, ReleaseAll, StopWorker
from ..storage.base import reports_listener

if TYPE_CHECKING:
    from ..clock import Clock
    from ..models import Claim
    from ..storage.base import TaskStore
    from ..workers import TaskWorker
    from .awaiting import Awaiting
    from .children import Waker, Workers, WorkerSlot
    from .creates import Gate
    from .dispatch import Dispatcher
    from .health import Health
    from .intensity import RestartIntensity
    from .maintenance import Maintenance
    from .planner import ClaimPlanner
    from .recorder import Recorder
    from .waiters import Waiters

__all__ = ["Supervising"]

log = logging.getLogger("actors")


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
        _planner: ClaimPlanner
        _recorder: Recorder
        _waiters: Waiters
        _awaiting: Awaiting
        _dispatch: Dispatcher
        _slots: list[WorkerSlot]
        _children: Workers
        _held: dict[str, Claim]
        _cancelled: set[str]
        _workers: dict[str, TaskWorker]
        _scheduler: Waker | None
        _stopping: bool
        _halted: str | None
        _gate: Gate
        last_tick: float | None

        def _invalidate(self) -> None: ...
        def _flush(self) -> None: ...

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

    def _stats_health(self) -> dict[str, Any]:
        return {
            "ok": self._halted is None and self._health.ok and all(
                loop["ok"] for loop in self._maintenance.stats().values()),
            "scheduler": bool(self._scheduler is not None and self._scheduler.alive),
            "last_tick": self.last_tick,
            "loops": self._maintenance.stats(),
            "listener": self._listener_health(),
            "ops": self._health.as_dict(),
            "kept": self._recorder.kept,
            "dropped": self._recorder.dropped,
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
        held = set(self._dispatch.retire(key)) | {job.task.id for job in unstarted}
        reported = self._recorder.reported()
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
        slot = self._children.restart(key, self.actor_ref)
        if slot is None:
            return  # this worker cannot be replaced: the others serve
        self._slots[key] = slot
        self._dispatch.add_worker(key, slot)  # it rejoins holding nothing
        log.warning("worker %d restarted", key)
        self._invalidate()

    def _halt(self, reason: str) -> None:
        """Stop the node from inside (OTP: a supervisor past its restart intensity): no more
        claims, the children stopped, every claim given back; later calls raise ``NodeStopped``."""
        self._halted = reason
        self._gate.close(reason, self._stats_health())  # creates are refused before they insert
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
        self._waiters.fail_all(NodeStopped(reason, self._stats_health()))
        self.actor_ref.tell(ReleaseAll())  # after the reports the workers sent while stopping

    def _drop_held(self, task_id: str) -> Claim | None:
        claim = self._held.pop(task_id, None)
        if claim is not None:
            self._planner.dropped(self._kind_of(claim))
        self._cancelled.discard(task_id)
        return claim

    def _kind_of(self, claim: Claim) -> str:
        worker = self._workers.get(claim.task.name)
        return worker.isolation if worker is not None else "process"

    def _release(self, jobs: list[Job], *, force: bool = False) -> None:
        """Give claims back to the store (kept and retried while it fails: their rows stay
        RUNNING under our lease meanwhile). ``force``: try now even during a back-off."""
        pairs = [(job.task.id, job.token) for job in jobs if self._drop_held(job.task.id) is not None]
        self._recorder.release(pairs, force=force)

    def _settle(self, task_ids: list[str]) -> None:
        """Tasks ended (or may have): resolve their waiters, wake the tasks suspended on them."""
        try:
            if self._waiters:
                self._waiters.settle(task_ids, self._store)
            if self._awaiting and self._awaiting.finished(task_ids, self._clock.now()):
                self._invalidate()
        except Exception as exc:  # the waiters stay (settled by a later tick); the suspended
            self._failed("settle", exc)  # tasks wake at their recheck time

    # --- stopping ----------------------------------------------------------------------------

    def _shutdown(self) -> int:
        """Stop claiming and give back what waits in the pool (not handed to a worker yet)."""
        self._stopping = True
        self._planner.stop()
        taken = self._dispatch.take_all()
        self._release([work.job for work in taken], force=True)
        return len(taken)

    def _release_all(self) -> int:
        """Give back every claim still held (after the workers stopped)."""
        if self._recorder.buffer:
            self._flush()
        jobs = [Job(c.task, c.token, c.task.attempts, None) for c in self._held.values()]
        self._release(jobs, force=True)
        if self._recorder.unreleased:
            log.warning("%d claim(s) could not be given back (the store fails); their leases expire "
                        "in %ss and another node takes them", len(self._recorder.unreleased), self._cfg.lease_ttl)
        if self._cfg.serving:
            self._maintenance.leave()
        return len(jobs)

    def _listener_health(self) -> dict[str, Any] | None:
        health = self._store.listener_health if reports_listener(self._store) else None
        return None if health is None else health()
