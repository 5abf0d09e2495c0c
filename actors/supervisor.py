"""The supervisor actor: owns the task store, the only writer of it on this node.

Every change to a task goes through one of its messages (``actors.messages``),
handled in one dispatch (:meth:`SupervisorActor.on_receive`). It claims due work
in batches up to the free capacity of its workers, hands it to its worker actors
through its pool (``actors.pool``), records attempt ends in batches (events that
arrive together share one transaction: a ``Flush`` sent to itself runs after
everything already queued), renews its leases, reclaims expired ones and prunes
old finished rows.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pykka

from ._supervising import Supervising
from .clock import Clock, from_timestamp
from .creating import validated_task
from .errors import NodeStopped, TaskNotFound, ValidationError, as_actors_error
from .health import Health
from .intensity import RestartIntensity
from .lifecycle import decide
from .maintenance import Maintenance
from .messages import (
    Abort,
    Attach,
    CancelTask,
    ChildExited,
    CreateTask,
    CreateTasks,
    DeleteSchedule,
    DeleteTask,
    Dispatch,
    Flush,
    GetLogs,
    GetSchedules,
    GetStats,
    GetTask,
    GetTasks,
    Job,
    JobDone,
    JobLog,
    JobMetadata,
    JobProgress,
    PauseTask,
    Pump,
    PutSchedule,
    RegisterWorker,
    Release,
    ReleaseAll,
    ResumeTask,
    Shutdown,
    Tick,
    Unwatch,
    UpdateTask,
    Watch,
    WhenIdle,
    Work,
    WorkerEvents,
    WorkerSlot,
)
from .models import Claim, Task, TaskStatus
from .pool import Pool
from .requests import check_changes, task_query
from .spec import new_ids
from .storage.base import ClaimRequest, Finish, LogRecord, TaskQuery, TaskStore, data_versioned, reports_listener
from .workers import TaskWorker

__all__ = ["DELETED", "SupervisorActor", "SupervisorConfig"]

log = logging.getLogger("actors")

#: What a waiter receives when the task it waits on is deleted.
DELETED = "deleted"

#: Told messages (no caller waits for a reply): an error while handling one is caught,
#: counted in the health and retried; it never stops the actor (pykka would).
_FAIL_SAFE = (WorkerEvents, Flush, Pump, Tick, Watch, Unwatch, RegisterWorker, Release, Attach, WhenIdle,
              ChildExited)
#: What a node that stopped itself still handles: its workers' last reports and the stop.
_WHILE_HALTED = (WorkerEvents, Flush, ChildExited, Shutdown, ReleaseAll, Unwatch)


@dataclass(frozen=True)
class SupervisorConfig:
    """Settings of one node's supervisor (validated by ``Supervisor.start``)."""

    node_id: str
    lease_ttl: float = 30.0
    slots: dict[str, int] = field(default_factory=dict)  # capacity per kind of worker
    pool: dict[str, int] = field(default_factory=dict)  # worker actors per kind (see _pump)
    max_batch: int = 16  # most jobs one worker holds at once
    max_crashes: int = 3
    retention: float = 7 * 24 * 3600.0
    abort_grace: float = 2.0
    orphan_grace: float = 60.0
    serving: bool = True
    info: dict[str, Any] | None = None  # what this node tells other nodes about itself
    default_timeout: float | None = None  # an attempt's limit when neither task nor worker sets one
    max_restarts: int = 5  # restart intensity: more than this many child restarts ...
    restart_window: float = 10.0  # ... within this many seconds and the node stops itself


@dataclass
class _Waiter:
    future: Any
    attempts: int


class SupervisorActor(Supervising, pykka.ThreadingActor):
    """Owns the store; decides; the rest of the node only sends it messages.

    Fail-safe: an error while it handles a told message is logged once per burst,
    shown in ``stats()["health"]["ops"]`` and retried with back-off (``actors.health``);
    an asked message's error goes to the caller. It supervises its children (worker
    actors, the scheduler thread): one that dies is restarted (``ChildExited``), up
    to the restart intensity, beyond which the node stops itself (``_halt``).
    A daemon thread: a program that never calls ``stop()`` still exits.
    """

    use_daemon_thread = True

    def __init__(self, store: TaskStore, clock: Clock, config: SupervisorConfig,
                 rng: random.Random | None = None) -> None:
        super().__init__()
        self._store = store
        self._clock = clock
        self._cfg = config
        self._rng = rng or random.Random()
        self._workers: dict[str, TaskWorker] = {}
        self._names_by_kind: dict[str, list[str]] = {}  # worker names per kind, kept on register
        self._held: dict[str, Claim] = {}  # claimed by this node, not yet ended
        self._held_per_kind: dict[str, int] = defaultdict(int)
        self._backlog: dict[str, bool] = defaultdict(bool)  # the last claim of a kind came back full
        self._cancelled: set[str] = set()
        self._waiters: dict[str, list[_Waiter]] = {}
        self._buffer: list[Any] = []
        self._flush_pending = False
        self._pool: Pool[int] = Pool(self._send_work, config.max_batch)
        self._slots: list[WorkerSlot] = []
        self._attached = False
        self._scheduler: Any = None
        self._stopping = False
        self._maintenance = Maintenance(store, node_id=config.node_id, lease_ttl=config.lease_ttl,
                                        max_crashes=config.max_crashes, retention=config.retention,
                                        orphan_grace=config.orphan_grace, started=clock.now(),
                                        info=config.info)
        self._idle_waiters: list[Any] = []
        self._claim_after: dict[str, float] = {}  # per kind: claim no sooner (absent: claim now)
        self._known_due = -math.inf  # the earliest due time the store told us, lowered by our writes
        self._data_version: int | None = None
        self._pump_pending = False
        self._look_pending = False  # a tick skipped looking up the next due time (see _saturated)
        self.fenced = 0
        self.last_tick: float | None = None
        self._health = Health()
        self._unreleased: list[tuple[str, str]] = []  # claims to give back, kept while the store fails
        self.dropped = 0  # events dropped because more than MAX_KEPT were kept
        self._intensity = RestartIntensity(config.max_restarts, config.restart_window)
        self._halted: str | None = None  # why the node stopped itself

    # --- the one dispatch ---------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        if self._halted is not None and not isinstance(message, _WHILE_HALTED):
            return self._refuse(message)
        if not isinstance(message, _FAIL_SAFE):
            return self._dispatch(message)  # asked: an error goes to the caller (the handle translates it)
        try:
            return self._dispatch(message)
        except Exception as exc:  # never let a told message stop the actor
            self._failed(type(message).__name__, exc)
            log.debug("error while handling %s", type(message).__name__, exc_info=True)
            return None

    def _dispatch(self, message: Any) -> Any:
        if isinstance(message, WorkerEvents):
            self._buffer.extend(message.events)
            if not self._flush_pending:
                self._flush_pending = True
                self.actor_ref.tell(Flush())
        elif isinstance(message, Flush):
            self._flush()
        elif isinstance(message, Pump):
            self._pump_pending = False
            self._pump()
        elif isinstance(message, CreateTasks):
            return self._create(message.tasks)
        elif isinstance(message, CreateTask):  # asked directly: checked here as create_task does
            spec = message.spec
            worker = self._workers.get(spec.name) if isinstance(spec.name, str) else None
            task = validated_task(spec, task_id=new_ids(1)[0], now=self._clock.now(), worker=worker, supervisor=None)
            return self._create([task])[0]
        elif isinstance(message, Tick):
            if message.taken is not None:
                message.taken()  # the scheduler may send the next tick from now on
            self._tick(message.now)
        elif isinstance(message, Watch):
            self._watch(message.task_id, message.future)
        elif isinstance(message, Unwatch):
            waiters = self._waiters.get(message.task_id, [])
            self._waiters[message.task_id] = [w for w in waiters if w.future is not message.future]
        elif isinstance(message, GetTask):
            return self._store.get(message.task_id)
        elif isinstance(message, GetTasks):
            query = message.query
            if query is None:  # asked with get_tasks' keyword filters: checked here
                query = task_query(**{key: value for key, value in message._asdict().items() if key != "query"})
            elif not isinstance(query, TaskQuery):
                raise ValidationError("query", query, "must be an actors.storage.base.TaskQuery or None")
            return self._store.query(query)
        elif isinstance(message, GetLogs):
            return self._store.logs(message.task_id)
        elif isinstance(message, UpdateTask):
            task = self._store.update(message.task_id, check_changes(message.changes), self._clock.now())
            self._invalidate()
            if task.status is TaskStatus.PENDING and task.run_at is not None:
                self._hint(task.run_at.timestamp())  # a new interval may have moved it: claim then
            return task
        elif isinstance(message, DeleteTask):
            return self._delete(message.task_id)
        elif isinstance(message, PauseTask):
            return self._store.pause(message.task_id, self._clock.now())
        elif isinstance(message, ResumeTask):
            task = self._store.resume(message.task_id, self._clock.now())
            self._invalidate()
            return task
        elif isinstance(message, CancelTask):
            cancelled = self._cancel(message.task_id)
            if cancelled is None:
                raise TaskNotFound(message.task_id)
            return cancelled
        elif isinstance(message, RegisterWorker):
            self._register(message.worker)
        elif isinstance(message, GetStats):
            return self._stats()
        elif isinstance(message, PutSchedule):
            schedule = self._store.put_schedule(message.schedule)
            self._maintenance.schedules_changed()
            self._wake_scheduler(self._clock.now())
            return schedule
        elif isinstance(message, GetSchedules):
            return self._store.schedules()
        elif isinstance(message, DeleteSchedule):
            return self._store.delete_schedule(message.key)
        elif isinstance(message, Release):
            self._release(message.jobs)
        elif isinstance(message, Attach):
            self._attach(message.workers, message.scheduler)
            self._wake_scheduler(self._clock.now())
        elif isinstance(message, WhenIdle):
            self._idle_waiters.append(message.future)
            self._check_idle()
        elif isinstance(message, Shutdown):
            return self._shutdown()
        elif isinstance(message, ReleaseAll):
            return self._release_all()
        elif isinstance(message, ChildExited):
            self._child_exited(message)
        return None

    def on_stop(self) -> None:
        self._fail_waiters(NodeStopped(self._halted or "the node was stopped"))
        self._store.close()

    # --- creating and changing tasks -----------------------------------------------------

    def _create(self, tasks: list[Task]) -> list[str]:
        """Store new tasks; when they are due now and a worker of their kind has room, claim
        in the same transaction (``add_and_claim``: one commit per task created one by one,
        not two)."""
        due = [task.run_at.timestamp() for task in tasks if task.run_at is not None and task.name in self._workers]
        if not due:
            return self._store.add(tasks)
        now = self._clock.now()
        kinds = {self._workers[task.name].isolation for task in tasks if task.name in self._workers}
        request = None
        if max(due) <= now and len(kinds) == 1:
            self._lower_claim_after(now)  # these are due: the kind may claim
            request = next((r for r in self._claim_requests(now) if r[0] in kinds), None)
        if request is None:
            ids = self._store.add(tasks)
            self._hint(min(due))
            return ids
        kind, claim = request
        ids, claims = self._store.add_and_claim(tasks, now, claim)
        self._took(kind, claims, claim.limit)
        return ids

    def _cancel(self, task_id: str) -> Task | None:
        before = self._store.cancel(task_id, self._clock.now())
        if before is None:
            return None
        if task_id in self._held:
            self._cancelled.add(task_id)
            if self._pool.withdraw(task_id) is not None:
                self._drop_held(task_id)  # it never reached a worker
            else:
                holder = self._pool.holder(task_id)
                for key in range(len(self._slots)) if holder is None else [holder]:
                    self._slots[key].ref.tell(Abort(task_id, self._cfg.abort_grace))
        self._settle([task_id])
        return self._store.get(task_id)

    def _delete(self, task_id: str) -> bool:
        if self._store.get(task_id) is None:
            return False
        self._cancel(task_id)
        deleted = self._store.delete(task_id)
        for waiter in self._waiters.pop(task_id, []):
            waiter.future.set_result(DELETED)
        return deleted

    def _register(self, worker: TaskWorker) -> None:
        if worker.name in self._workers:
            log.warning("task worker %r registered again: the new one replaces the old", worker.name)
        self._workers[worker.name] = worker
        self._names_by_kind = {
            kind: [name for name, w in self._workers.items() if w.isolation == kind]
            for kind in self._cfg.slots
        }
        self._maintenance.registered(worker.name)
        self._invalidate()

    # --- claiming and dispatching ----------------------------------------------------------

    def _attach(self, workers: list[WorkerSlot], scheduler: Any) -> None:
        """The node's worker actors and scheduler are ready: start claiming."""
        for key, slot in enumerate(workers):
            self._pool.add_worker(key, slot.kind)
            self._slots.append(slot)
        self._scheduler = scheduler
        self._attached = True
        self._invalidate()

    def _send_work(self, key: int, items: list[Work]) -> None:
        """Hand a batch to worker ``key``: straight to its executor when that only queues
        (one thread hand-off less per batch, and the job leaves before the creator's reply),
        else as a ``Dispatch`` to its actor."""
        slot = self._slots[key]
        if slot.submit is None:
            slot.ref.tell(Dispatch(items))
            return
        try:
            slot.submit([work.job for work in items], {work.job.task.name: work.execute for work in items})
        except Exception:  # its executor stopped (at interpreter exit) or broke: never started, give back
            log.exception("worker %d refused %d job(s); it gets no more work, the jobs go back to the store",
                          key, len(items))
            self._pool.retire(key)
            self._release([work.job for work in items])
            self._hint(self._clock.now())  # claim them again (another worker), after this message

    def _invalidate(self) -> None:
        """Something may have become due (a change, a new worker, time passed): claim now."""
        self._claim_after.clear()
        self._known_due = -math.inf
        self._pump()

    def _hint(self, when: float) -> None:
        """A task becomes due at ``when``: claim then (and wake the scheduler for it).

        The claim runs from a ``Pump`` message to self, after whatever is already in the
        inbox, so a burst of creates is claimed in one transaction, not one each.
        """
        self._note_due(when)
        if not self._pump_pending:
            self._pump_pending = True
            self.actor_ref.tell(Pump())

    def _note_due(self, when: float) -> None:
        self._lower_claim_after(when)
        self._known_due = min(self._known_due, when)
        if self._scheduler is not None and when > self._clock.now():
            self._scheduler.wake_at(when)

    def _lower_claim_after(self, when: float) -> None:
        for kind, after in self._claim_after.items():
            self._claim_after[kind] = min(after, when)

    def _pump(self) -> None:
        """Claim due work up to the free capacity, one transaction per kind that may claim
        (none while a failed claim waits for its retry time)."""
        now = self._clock.now()
        if self._health.ready("claim", now):
            try:
                for kind, request in list(self._claim_requests(now)):
                    claims = self._store.claim(request.names, request.limit, now, request.owner,
                                               request.lease_ttl)
                    self._took(kind, claims, request.limit)
                    self._health.succeeded("claim", now)
            except Exception as exc:
                self._failed("claim", exc)
        self._check_idle()

    def _claim_requests(self, now: float,
                        freed: Counter[str] | None = None) -> Iterator[tuple[str, ClaimRequest]]:
        """The claims to make now, per kind of worker: ``(kind, request)``.

        A kind claims when it has registered names, free capacity (``freed`` counts the
        claims of each kind about to be dropped: attempt ends being recorded) and no
        reason to wait (``_no_room``), and something of it may be due: ``_claim_after[kind]``
        saves the claim queries while nothing can be. It is set to infinity when a claim
        found less than it could take, and lowered by every event that makes a task due
        (a create, a retry, a recurring run, a change, a tick).
        """
        if self._stopping or not self._attached or not self._cfg.serving:
            return
        for kind, slots in self._cfg.slots.items():
            names = self._names_by_kind.get(kind)
            if not names or now < self._claim_after.get(kind, -math.inf):
                continue
            held = self._held_per_kind[kind] - (freed[kind] if freed else 0)
            if self._no_room(kind, held):  # claim when a slot or a worker frees
                continue
            yield kind, ClaimRequest(names, slots - held, self._cfg.node_id, self._cfg.lease_ttl)

    def _took(self, kind: str, claims: list[Claim], limit: int) -> None:
        """Hold what a claim of ``kind`` returned and hand it to the pool."""
        self._backlog[kind] = len(claims) == limit
        if len(claims) < limit:
            self._claim_after[kind] = math.inf  # nothing else of this kind is due now
        if not claims:
            return
        items = []
        for claim in claims:
            self._held[claim.task.id] = claim
            self._held_per_kind[kind] += 1
            worker = self._workers[claim.task.name]
            timeout = next((t for t in (claim.task.timeout, worker.timeout, self._cfg.default_timeout)
                            if t is not None), None)  # task > worker > node
            job = Job(claim.task, claim.token, claim.task.attempts, timeout)
            items.append(Work(job, worker.execute, kind))
        self._pool.put(items)

    def _no_room(self, kind: str, held: int) -> bool:
        """True while new work of ``kind`` should wait for the next claim, with ``held`` claims
        of the kind in hand: every slot is full, or every worker of the kind has a task and
        the last claim found no backlog (it came back short).

        Work created one by one then gathers in the store and is claimed with the next
        attempt end (one transaction), instead of a claim, a dispatch and a finish per task;
        it starts no later for that, since no worker of the kind was free to run it sooner.
        """
        pool = self._cfg.pool.get(kind, 0)
        return held >= self._cfg.slots[kind] or (pool > 0 and not self._backlog[kind] and held >= pool)

    def _check_idle(self) -> None:
        if (self._idle_waiters and not self._held and not self._buffer and not self._flush_pending
                and not self._pump_pending):
            waiters, self._idle_waiters = self._idle_waiters, []
            for future in waiters:
                future.set_result(True)

    def _wake_scheduler(self, now: float) -> None:
        if self._scheduler is None or not self._health.ready("wake", now):
            return  # (a failed look is tried again by the tick at its retry time)
        wake = self._maintenance.next_wake() if self._cfg.serving else math.inf
        try:
            due = self._store.next_due(list(self._workers)) if self._cfg.serving else None
        except Exception as exc:
            self._failed("wake", exc)
            return
        self._health.succeeded("wake", now)
        self._known_due = math.inf if due is None else due
        if due is not None:
            self._lower_claim_after(due)
            if due > now:
                wake = min(wake, due)
            else:
                # due already: claim it now, not on a tick asked for at once; while nothing
                # can be claimed (every slot full, every worker busy) that tick would claim
                # nothing and ask for the next, a busy loop. The rest is claimed when a slot
                # or a worker frees: the pump after each attempt end.
                self._pump()
        self._scheduler.wake_at(max(wake, now))

    def _drop_held(self, task_id: str) -> Claim | None:
        claim = self._held.pop(task_id, None)
        if claim is not None:
            self._held_per_kind[self._kind_of(claim)] -= 1
        self._cancelled.discard(task_id)
        return claim

    def _kind_of(self, claim: Claim) -> str:
        worker = self._workers.get(claim.task.name)
        return worker.isolation if worker is not None else "process"

    # --- time passing ------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        """Time passed. Claims only when something may be due: a known due time came, or
        another process wrote to the store (``data_version`` moved), so idle polls are cheap."""
        self.last_tick = now
        if self._buffer and not self._flush_pending and self._ready("finish", "create", "write"):
            self._flush()  # attempt ends kept while the store was unavailable
        if self._unreleased:
            self._write_releases()
        try:
            external = self._external_change()
        except Exception as exc:
            self._failed("poll", exc)
            external = False
        else:
            self._health.succeeded("poll", now)
        if external:
            self._maintenance.schedules_changed(elsewhere_at=now)  # another node may have added one
        if self._cfg.serving and now >= self._maintenance.next_wake():
            self._maintenance.run(now, holding=bool(self._held), worker_names=self._workers)
            external = True
        if self._waiters and external:
            self._settle(list(self._waiters))
        if external:
            self._claim_after.clear()
        self._pump()
        look = external or now >= self._known_due or self._health.failing("wake")
        if look and not self._saturated():
            self._look_pending = False
            self._wake_scheduler(now)
        elif self._scheduler is not None:  # nothing new, or nothing we could take: keep the due time we know
            self._look_pending = self._look_pending or look  # look once a worker has room (see _flush)
            known = self._known_due if self._known_due > now else math.inf
            self._scheduler.wake_at(max(min(known, self._maintenance.next_wake()), now))
        retry = self._health.next_retry()
        if retry is not None and self._scheduler is not None:
            self._scheduler.wake_at(max(retry, now))  # a failed operation is tried again then

    def _saturated(self) -> bool:
        """True while no kind of worker can take more work: every kind with registered names
        has no room (``_no_room``). Looking up the next due time
        (a query) then tells nothing the next attempt end would not: it claims what is due.
        A producer in another process wakes the node once per create; while the node is
        saturated those wake-ups cost one ``data_version`` read each, not a query too."""
        if not self._cfg.serving or not self._attached:
            return False
        kinds = [kind for kind in self._cfg.slots if self._names_by_kind.get(kind)]
        return bool(kinds) and all(self._no_room(kind, self._held_per_kind[kind]) for kind in kinds)

    def _external_change(self) -> bool:
        version_of = self._store.data_version if data_versioned(self._store) else None
        if version_of is None:
            return True  # a store that cannot tell: assume it changed
        version = version_of()
        changed = version != self._data_version
        self._data_version = version
        return bool(changed)

    # --- what workers report ---------------------------------------------------------------

    def _flush(self) -> None:
        self._flush_pending = False
        events, self._buffer = self._buffer, []
        now = self._clock.now()
        logs: list[LogRecord] = []
        done: list[JobDone] = []
        progress: dict[tuple[str, str], float] = {}
        metadata: list[JobMetadata] = []
        log_events: list[JobLog] = []
        for event in events:
            if isinstance(event, JobDone):
                done.append(event)
                self._pool.ended(event.task_id, event.token)
            elif isinstance(event, JobProgress):
                progress[(event.task_id, event.token)] = event.progress
            elif isinstance(event, JobMetadata):
                metadata.append(event)
            elif isinstance(event, JobLog):
                log_events.append(event)
                logs.append(LogRecord(event.task_id, event.attempt, event.created, event.level,
                                      event.message))
        retry: list[Any] = []
        if metadata and not self._write("write", now, self._merge_all, metadata, now):
            retry += metadata
        if progress and not self._write("write", now, self._progress_all, progress, now):
            retry += [JobProgress(task_id, token, value) for (task_id, token), value in progress.items()]
        if logs and not self._write("write", now, self._store.append_logs, logs):
            retry += log_events
        if done and not self._write("finish", now, self._record, done, now):
            retry += done
        if retry:
            # the store is unreachable: keep the events and write them on a later tick (at the
            # retry time); the rows stay RUNNING under our lease meanwhile, nothing is lost
            self._keep(retry)
        if done:
            self._pool.hand_out()
        self._pump()
        if self._look_pending and not self._saturated():
            self._look_pending = False
            self._wake_scheduler(now)  # what ticks skipped while every worker was busy


    def _record(self, done: list[JobDone], now: float) -> None:
        """Decide and store attempt ends; the claims are dropped only once the store has them.

        When the slots they free may take more work, the next claim goes in the same
        transaction (``finish_and_claim``).
        """
        finishes: list[Finish] = []
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
            worker = self._workers.get(claim.task.name)
            finishes.append(decide(claim.task, claim.token, event.outcome, now,
                                   worker_retry=worker.retry if worker else None,
                                   max_crashes=self._cfg.max_crashes, rng=self._rng))
        request = next(self._claim_requests(now, freed), None) if finishes else None
        claims: list[Claim] = []
        if request is not None:
            applied, claims = self._store.finish_and_claim(finishes, now, request[1])
        else:
            applied = self._store.finish(finishes, now) if finishes else []
        for task_id in ended:
            self._drop_held(task_id)
        if request is not None:
            self._took(request[0], claims, request[1].limit)
        if not finishes:
            return
        self.fenced += len(finishes) - len(applied)
        again = [f.run_at for f in finishes if f.status is TaskStatus.PENDING and f.run_at is not None]
        if again:
            self._note_due(min(again))
        for finish in finishes:
            if finish.status is TaskStatus.FAILED:
                log.warning("task %s failed for good: %s", finish.task_id, finish.error)
        if self._waiters:
            self._settle([task_id for task_id in applied if task_id in self._waiters])

    def _release(self, jobs: list[Job], *, force: bool = False) -> None:
        """Give claims back to the store (kept and retried while it fails: their rows stay
        RUNNING under our lease meanwhile). ``force``: try now even during a back-off."""
        for job in jobs:
            if self._drop_held(job.task.id) is not None:
                self._unreleased.append((job.task.id, job.token))
        self._write_releases(force=force)

    # --- waiting ---------------------------------------------------------------------------

    def _watch(self, task_id: str, future: Any) -> None:
        try:
            task = self._store.get(task_id)
        except Exception as exc:
            future.set_exception(as_actors_error(exc))
            return
        if task is None or task.status.finished:
            future.set_result(task)
            return
        self._waiters.setdefault(task_id, []).append(_Waiter(future, task.attempts))

    def _settle(self, task_ids: list[str]) -> None:
        wanted = [task_id for task_id in task_ids if self._waiters.get(task_id)]
        if not wanted:
            return
        try:
            tasks = self._store.get_many(wanted)
        except Exception as exc:  # the waiters stay; settled by a later tick
            self._failed("settle", exc)
            return
        for task_id in wanted:
            task = tasks.get(task_id)
            keep = []
            for waiter in self._waiters.pop(task_id, []):
                if task is None:
                    waiter.future.set_result(DELETED)
                elif task.status.finished or (
                    task.recurring and task.status is not TaskStatus.RUNNING
                    and task.attempts > waiter.attempts
                ):
                    waiter.future.set_result(task)
                else:
                    keep.append(waiter)
            if keep:
                self._waiters[task_id] = keep

    # --- reporting and stopping ------------------------------------------------------------

    def _stats(self) -> dict[str, Any]:
        now = from_timestamp(self._clock.now())
        counts = self._read(self._store.counts, {})  # (a failing store: stats still show the health)
        orphaned = {
            name: count for name, count in self._read(self._store.pending_names, {}).items()
            if name not in self._workers
        } if self._cfg.serving else {}
        slots = sum(self._cfg.slots.values())
        busy = sum(1 for held in self._pool.holding().values() if held > 0)
        return {
            "node_id": self._cfg.node_id,
            "tasks": counts,
            "queues": self._store.counts_by_queue(),
            "held": len(self._held),
            "workers": {
                "registered": sorted(self._workers),
                "slots": len(self._slots),
                "held_by_kind": dict(self._held_per_kind),
                "capacity": slots,
                "busy": busy,  # worker actors with a task in hand (one runs, the rest wait behind it)
                "idle": len(self._slots) - busy,
            },
            "orphaned": sum(orphaned.values()),
            "orphaned_by_name": orphaned,
            "fenced": self.fenced,
            "leader": self._maintenance.leader,
            "nodes": [{"node_id": node.node_id, "alive": node.alive(now), "started_at": node.started_at,
                       "heartbeat_at": node.heartbeat_at, "info": node.info}
                      for node in self._read(self._store.nodes, [])],
            "health": self._stats_health(),
        }

    def _listener_health(self) -> dict[str, Any] | None:
        health = self._store.listener_health if reports_listener(self._store) else None
        return None if health is None else health()

    def _shutdown(self) -> int:
        """Stop claiming and give back what waits in the pool (not handed to a worker yet)."""
        self._stopping = True
        taken = self._pool.take_all()
        self._release([work.job for work in taken], force=True)
        return len(taken)

    def _release_all(self) -> int:
        """Give back every claim still held (after the workers stopped)."""
        if self._buffer:
            self._flush()
        jobs = [Job(c.task, c.token, c.task.attempts, None) for c in self._held.values()]
        self._release(jobs, force=True)
        if self._unreleased:
            log.warning("%d claim(s) could not be given back (the store fails); their leases expire "
                        "in %ss and another node takes them", len(self._unreleased), self._cfg.lease_ttl)
        if self._cfg.serving:
            self._maintenance.leave()
        return len(jobs)
