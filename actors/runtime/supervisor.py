"""The supervisor actor: owns the task store, the only writer of it on this node.

A thin shell over the node's parts, each in its own module: every message type has one handler
(the dispatch table :attr:`SupervisorActor._handlers`); *when* to claim is the claim planner's
(``planner``), what workers report goes to the store through the recorder (``recorder``: attempt
ends in batches, a ``Flush`` sent to itself runs after everything already queued), waits are the
waiters' (``waiters``; tasks waiting in ``ctx.wait``: ``awaiting``), claimed work waits for a worker
in the pool (``pool``), periodic duties are maintenance's, what a worker's attempts run is
``hooks.Plans``, what a tick does is the ``ticking`` mixin's, and failing safe and supervising its
children are the ``supervising`` mixin's.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pykka

from .. import messages as msgs
from ..clock import Clock
from ..errors import NodeStopped
from ..feed.bus import EventBus
from ..lifecycle import continuation, decide
from ..models import Claim, Continued, TaskStatus, Waiting
from ..storage.base import Continuation, Finish, TaskStore
from ..workers import TaskWorker
from .awaiting import Awaiting
from .children import FixedWorkers, Waker, Workers, WorkerSlot
from .config import SupervisorConfig
from .creates import Gate
from .dispatch import ActorDispatch, DirectDispatch, Dispatcher, Hop
from .emitter import Emitter
from .health import Health
from .hooks import Plans, hook_handlers
from .intensity import RestartIntensity
from .maintenance import Maintenance
from .operations import TaskOperations
from .planner import ClaimPlanner, PlannedClaim
from .queues import queue_handlers
from .recorder import Recorder
from .supervising import Supervising
from .ticking import Ticking
from .waiters import DELETED, Waiters

__all__ = ["DELETED", "SupervisorActor", "SupervisorConfig"]
log = logging.getLogger("actors")

#: Told messages (no caller waits for a reply): an error while handling one is caught,
#: counted in the health and retried; it never stops the actor (pykka would).
_FAIL_SAFE = frozenset({msgs.WorkerEvents, msgs.Flush, msgs.Pump, msgs.Created, msgs.Tick, msgs.Watch, msgs.Unwatch,
                        msgs.RegisterWorker, msgs.Release, msgs.WhenIdle, msgs.ChildExited, msgs.Refused})
#: What a node that stopped itself still handles: its workers' last reports and the stop.
_WHILE_HALTED = frozenset({msgs.WorkerEvents, msgs.Flush, msgs.ChildExited, msgs.Shutdown, msgs.ReleaseAll,
                           msgs.Unwatch})


class SupervisorActor(TaskOperations, Supervising, Ticking, pykka.ThreadingActor):
    """Owns the store; decides; the rest of the node only sends it messages.

    Args:
        store, clock, config: the node's store, clock and settings.
        rng: the retry jitter's randomness.
        workers: its worker actors, started on ``Attach`` (default: none).
        scheduler: the thread that ticks it (None: ticks come from ``Supervisor.tick``).

    Fail-safe: an error while it handles a told message is logged once per burst,
    shown in ``stats()["health"]["ops"]`` and retried with back-off (``health``);
    an asked message's error goes to the caller. It supervises its children (worker
    actors, the scheduler thread): one that dies is restarted (``ChildExited``), up
    to the restart intensity, beyond which the node stops itself (``_halt``).
    A daemon thread: a program that never calls ``stop()`` still exits.
    """

    use_daemon_thread = True

    def __init__(self, store: TaskStore, clock: Clock, config: SupervisorConfig,
                 rng: random.Random | None = None, *, workers: Workers | None = None,
                 scheduler: Waker | None = None, gate: Gate | None = None, bus: EventBus | None = None) -> None:
        super().__init__()
        self._gate = gate or Gate()  # the handle's creates check it before they insert
        self._store = store
        self._clock = clock
        self._cfg = config
        self._rng = rng or random.Random()
        self._children: Workers = workers or FixedWorkers()
        self._scheduler = scheduler
        self._workers: dict[str, TaskWorker] = {}
        self._plans = Plans()
        self._held: dict[str, Claim] = {}  # claimed by this node, not yet ended
        self._emit = Emitter(bus or EventBus(), clock, config.node_id, self._held)  # events (feed.bus)
        self._cancelled: set[str] = set()
        self._dispatch: Dispatcher = DirectDispatch(config.max_batch, self._refused)
        self._events = Hop()  # worker -> supervisor: WorkerEvents messages, and the events each held
        self._flushes = Hop()  # attempt ends per Flush (one transaction)
        self._slots: list[WorkerSlot] = []
        self._stopping = False
        self._planner = ClaimPlanner(node_id=config.node_id, lease_ttl=config.lease_ttl, slots=config.slots,
                                     pool=config.pool, serving=config.serving, queues=config.queues)
        self._health = Health()
        self._recorder = Recorder(store, clock, self._health, self._failed)
        self._waiters = Waiters()
        self._awaiting = Awaiting(store, recheck=config.lease_ttl)  # tasks suspended in ctx.wait
        self._maintenance = Maintenance(store, node_id=config.node_id, lease_ttl=config.lease_ttl,
                                        max_crashes=config.max_crashes, retention=config.retention,
                                        orphan_grace=config.orphan_grace, started=clock.now(),
                                        info=config.info)
        self._maintenance.on_fired = self._emit.created  # a schedule's tasks are events too
        self._data_version: int | None = None
        self.fenced = 0
        self.last_tick: float | None = None
        self._intensity = RestartIntensity(config.max_restarts, config.restart_window)
        self._halted: str | None = None  # why the node stopped itself
        self._handlers: dict[type, Callable[[Any], Any]] = {
            msgs.WorkerEvents: self._on_events, msgs.Flush: lambda _: self._flush(), msgs.Pump: self._on_pump,
            msgs.CreateTasks: lambda m: self._create(m.tasks), msgs.CreateTask: self._on_create_task,
            msgs.Created: self._on_created,
            msgs.Tick: self._on_tick, msgs.Watch: lambda m: self._waiters.watch(m.task_id, m.future, self._store),
            msgs.Unwatch: lambda m: self._waiters.unwatch(m.task_id, m.future),
            msgs.GetTask: lambda m: self._store.get(m.task_id), msgs.GetTasks: self._on_get_tasks,
            msgs.GetLogs: lambda m: self._store.logs(m.task_id, m.iteration), msgs.UpdateTask: self._on_update,
            msgs.DeleteTask: lambda m: self._delete(m.task_id),
            msgs.PauseTask: self._on_pause,
            msgs.ResumeTask: self._on_resume, msgs.CancelTask: self._on_cancel,
            msgs.RetryTask: self._on_retry, msgs.BulkTasks: self._on_bulk,
            msgs.RegisterWorker: lambda m: self._register(m.worker), msgs.GetStats: lambda _: self._stats(),
            msgs.PutSchedule: self._on_put_schedule, msgs.GetSchedules: lambda _: self._store.schedules(),
            msgs.DeleteSchedule: lambda m: self._store.delete_schedule(m.key),
            msgs.Release: lambda m: self._release(m.jobs), msgs.Attach: lambda _: self._attach(),
            msgs.WhenIdle: self._on_when_idle, msgs.Shutdown: lambda _: self._shutdown(),
            msgs.ReleaseAll: lambda _: self._release_all(), msgs.ChildExited: self._child_exited,
            msgs.Refused: lambda m: self._refused(list(m.jobs)), **queue_handlers(self), **hook_handlers(self),
        }

    # --- the one dispatch ---------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        kind = type(message)
        if self._halted is not None and kind not in _WHILE_HALTED:
            return self._refuse(message)
        handler = self._handlers.get(kind)
        if handler is None:
            return None  # (``ask(None)``: a barrier, answered after everything queued before it)
        if kind not in _FAIL_SAFE:
            return handler(message)  # asked: an error goes to the caller (the handle translates it)
        try:
            return handler(message)
        except Exception as exc:  # never let a told message stop the actor
            self._failed(kind.__name__, exc)
            log.debug("error while handling %s", kind.__name__, exc_info=True)
            return None

    def on_start(self) -> None:
        if self._cfg.dispatch == "actor":
            self._dispatch = ActorDispatch(self._cfg.max_batch, self.actor_ref)

    def on_stop(self) -> None:
        self._dispatch.stop()
        self._waiters.fail_all(NodeStopped(self._halted or "the node was stopped"))
        self._store.close()

    def _on_events(self, message: msgs.WorkerEvents) -> None:
        self._events.add(len(message.events))
        if self._recorder.add(message.events):
            self.actor_ref.tell(msgs.Flush())

    def _on_pump(self, message: msgs.Pump) -> None:
        self._planner.pumped()
        self._pump()

    def _on_tick(self, message: msgs.Tick) -> None:
        if message.scheduled and self._scheduler is not None:
            self._scheduler.taken()  # the scheduler may send the next tick from now on
        self._tick(message.now)

    def _on_when_idle(self, message: msgs.WhenIdle) -> None:
        self._waiters.when_idle(message.future)
        self._check_idle()

    # --- claiming and dispatching ----------------------------------------------------------

    def _attach(self) -> None:
        """Start the worker actors (``ChildStartError`` to the asker if one cannot), then claim."""
        for key, slot in enumerate(self._children.start(self.actor_ref)):
            self._dispatch.add_worker(key, slot)
            self._slots.append(slot)
        self._planner.attached()
        self._invalidate()
        self._wake_scheduler(self._clock.now())

    def _refused(self, jobs: list[msgs.Job]) -> None:
        """A worker's executor refused these jobs (stopped at interpreter exit, or broken; the
        dispatch retired it): they never started, so they go back to the store and are claimed
        again (another worker), after this message."""
        self._release(jobs)
        self._hint(self._clock.now())

    def _invalidate(self) -> None:
        """Something may have become due (a change, a new worker, time passed): claim now."""
        self._planner.changed()
        self._pump()

    def _hint(self, when: float, *, at_once: bool = False) -> None:
        """A task becomes due at ``when``: claim then (and wake the scheduler for it), from a
        ``Pump`` to self after whatever is already in the inbox (one claim per burst).
        ``at_once`` (a handler, not a step inside one): with nothing in the inbox to fold in,
        claim now instead, a hop less between a create and its start."""
        self._note_due(when)
        if at_once and not self._planner.pump_pending and self.actor_inbox.empty():
            self._pump()
        elif self._planner.pump():
            self.actor_ref.tell(msgs.Pump())

    def _note_due(self, when: float) -> None:
        self._planner.due_at(when)
        if self._scheduler is not None and when > self._clock.now():
            self._scheduler.wake_at(when)

    def _pump(self) -> None:
        """Claim due work up to the free capacity, one transaction per kind that may claim
        (none while a failed claim waits for its retry time)."""
        now = self._clock.now()
        if self._health.ready("claim", now):
            try:
                for planned in self._planner.plan(now):
                    request = planned.request
                    only = {} if request.queues is None else {"queues": request.queues}
                    claims = self._store.claim(request.names, request.limit, now, request.owner,
                                               request.lease_ttl, **only)
                    self._took(planned, claims)
                    self._health.succeeded("claim", now)
            except Exception as exc:
                self._failed("claim", exc)
        self._check_idle()

    def _took(self, planned: PlannedClaim, claims: list[Claim]) -> None:
        """Hold what a planned claim returned and hand it to the pool."""
        self._planner.took(planned.kind, len(claims), planned.request.limit,
                           getattr(self._store, "claim_held_back", False))
        if not claims:
            return
        self._emit.started(claims)
        held, workers, kind, node_timeout = self._held, self._workers, planned.kind, self._cfg.default_timeout
        items = []  # Work: the job, and what it runs (the worker's execute, or its hooks too)
        for claim in claims:
            task = claim.task
            held[task.id] = claim
            worker = workers[task.name]
            timeout = task.timeout  # task > worker > node
            if timeout is None:
                timeout = node_timeout if worker.timeout is None else worker.timeout
            job = msgs.Job(task, claim.token, task.attempts, timeout, worker.max_iterations)
            items.append(msgs.Work(job, self._plans.of(worker), kind))
        self._dispatch.put(items)

    def _check_idle(self) -> None:
        if (self._waiters.idle_waiting and not self._held and not self._recorder.buffer
                and not self._recorder.pending and not self._planner.pump_pending):
            self._waiters.idle()

    # --- what workers report ---------------------------------------------------------------

    def _flush(self) -> None:
        now = self._clock.now()
        batch = self._recorder.take()
        if batch.done:
            self._flushes.add(len(batch.done))
            self._dispatch.ended([(event.task_id, event.token) for event in batch.done])
        reported = self._emit.before(batch)
        retry = self._recorder.write_reports(batch, now)
        self._emit.reports(reported, retry)
        if batch.done and not self._recorder.write("finish", now, self._record, batch.done, now):
            retry += batch.done
        if retry:
            # the store is unreachable: keep the events and write them on a later tick (at the
            # retry time); the rows stay RUNNING under our lease meanwhile, nothing is lost
            self._recorder.keep(retry)
        if batch.done:
            self._dispatch.hand_out()
        self._pump()
        if self._planner.look_owed():
            self._wake_scheduler(now)  # what ticks skipped while every worker was busy

    def _record(self, done: list[msgs.JobDone], now: float) -> None:
        """Decide and store attempt ends (claims dropped only once the store has them); the next
        claim shares their transaction (``finish_and_claim``); a ``Waiting`` one is suspended."""
        finishes: list[Finish] = []
        continues: list[Continuation] = []
        waits: list[tuple[str, str, Waiting]] = []
        ended: list[str] = []
        freed: Counter[str] = Counter()
        for event in done:
            claim = self._held.get(event.task_id)
            if claim is None or claim.token != event.token:
                self.fenced += 1
                continue
            ended.append(event.task_id)
            freed[self._kind_of(claim)] += 1
            if event.task_id in self._cancelled:
                continue  # the row is CANCELLED already and its lease dropped
            if isinstance(event.outcome, Continued):
                continues.append(continuation(claim.task, claim.token, event.outcome, now))
                continue
            if isinstance(event.outcome, Waiting):  # not an end: back to PENDING (runtime/awaiting.py)
                waits.append((claim.task.id, claim.token, event.outcome))
                continue
            retry = worker.retry if (worker := self._workers.get(claim.task.name)) else None
            finishes.append(decide(claim.task, claim.token, event.outcome, now, worker_retry=retry,
                                   max_crashes=self._cfg.max_crashes, rng=self._rng))
        if continues:  # the next iterations, committed before the claims are dropped
            self._emit.continued(continues, self._recorder.continued(continues, now))
            self._note_due(min(item.run_at for item in continues))
        if waits and (due := self._awaiting.suspend(waits, now)):  # first: a child ending here wakes it
            self._note_due(min(due))
        planned = next(iter(self._planner.plan(now, freed)), None) if finishes else None
        claims: list[Claim] = []
        if planned is not None:
            applied, claims = self._store.finish_and_claim(finishes, now, planned.request)
        else:
            applied = self._store.finish(finishes, now) if finishes else []
        self._emit.ended(finishes, applied)
        for task_id in ended:
            self._drop_held(task_id)
        if planned is not None:
            self._took(planned, claims)
        if not finishes:
            return
        self.fenced += len(finishes) - len(applied)
        again = [f.run_at for f in finishes if f.status is TaskStatus.PENDING and f.run_at is not None]
        if again:
            self._note_due(min(again))
        for failed in (f for f in finishes if f.status is TaskStatus.FAILED):
            log.warning("task %s failed for good: %s", failed.task_id, failed.error)
        if self._waiters or self._awaiting:
            final = {f.task_id for f in finishes if f.status.finished} if self._awaiting else set()
            self._settle([task_id for task_id in applied if task_id in final or task_id in self._waiters])
