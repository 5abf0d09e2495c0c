"""The supervisor's operations on tasks and schedules (a mixin of ``SupervisorActor``).

What the handle's methods (and an application asking ``sup.ref`` directly) ask the
supervisor: create, read, change, cancel and delete tasks, put and read schedules,
register workers, report ``stats()``. Each runs in the supervisor's thread; an error
goes to the caller (the handle translates it to an ``ActorsError``). A change that
may make work due tells the claim planner (``_invalidate``, ``_hint``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..clock import from_timestamp
from ..creating import validated_task
from ..errors import TaskNotFound, ValidationError
from ..messages import (
    Abort,
    BulkTasks,
    CancelTask,
    Created,
    CreateTask,
    GetTasks,
    PauseTask,
    PutSchedule,
    ResumeTask,
    RetryTask,
    UpdateTask,
)
from ..models import Task, TaskStatus
from ..requests import check_changes, task_query
from ..spec import new_ids
from ..storage.base import TaskQuery

if TYPE_CHECKING:
    from ..clock import Clock
    from ..models import Claim
    from ..storage.base import TaskStore
    from ..workers import TaskWorker
    from .children import WorkerSlot
    from .dispatch import Dispatcher, Hop
    from .emitter import Emitter
    from .maintenance import Maintenance
    from .planner import ClaimPlanner, PlannedClaim
    from .waiters import Waiters

__all__ = ["TaskOperations"]

log = logging.getLogger("actors")


class TaskOperations:
    """Asked operations on tasks and schedules, for ``SupervisorActor``."""

    if TYPE_CHECKING:  # provided by SupervisorActor
        _store: TaskStore
        _clock: Clock
        _cfg: Any
        _workers: dict[str, TaskWorker]
        _held: dict[str, Claim]
        _cancelled: set[str]
        _dispatch: Dispatcher
        _events: Hop
        _flushes: Hop
        _slots: list[WorkerSlot]
        _stopping: bool
        _planner: ClaimPlanner
        _maintenance: Maintenance
        _waiters: Waiters
        _emit: Emitter
        fenced: int

        def _invalidate(self) -> None: ...
        def _hint(self, when: float, *, at_once: bool = False) -> None: ...
        def _took(self, planned: PlannedClaim, claims: list[Claim]) -> None: ...
        def _drop_held(self, task_id: str) -> Claim | None: ...
        def _settle(self, task_ids: list[str]) -> None: ...
        def _wake_scheduler(self, now: float) -> None: ...
        def _read(self, read: Any, default: Any) -> Any: ...
        def _stats_health(self) -> dict[str, Any]: ...

    # --- creating and changing tasks -----------------------------------------------------

    def _on_create_task(self, message: CreateTask) -> str:
        """Asked directly (not through the handle): checked here as ``create_task`` does."""
        spec = message.spec
        worker = self._workers.get(spec.name) if isinstance(spec.name, str) else None
        task = validated_task(spec, task_id=new_ids(1)[0], now=self._clock.now(), worker=worker, supervisor=None)
        return self._create([task])[0]

    def _on_created(self, message: Created) -> None:
        """A caller stored new tasks itself (the handle's create path): claim them when due,
        at once when nothing else waits in the inbox, else from a ``Pump`` after it (a burst of
        creates shares one claim)."""
        _, due, names = message.stored.take()
        if self._stopping or due is None or not any(name in self._workers for name in names):
            return
        self._hint(due, at_once=True)

    def _create(self, tasks: list[Task]) -> list[str]:
        """Store new tasks; when they are due now and a worker of their kind has room, claim
        in the same transaction (``add_and_claim``: one commit per task created one by one,
        not two)."""
        due = [task.run_at.timestamp() for task in tasks if task.run_at is not None and task.name in self._workers]
        if not due:
            ids = self._store.add(tasks)
            self._emit.created(tasks, ids)
            return ids
        now = self._clock.now()
        kinds = {self._workers[task.name].isolation for task in tasks if task.name in self._workers}
        planned = self._planner.for_create(now, next(iter(kinds))) if max(due) <= now and len(kinds) == 1 \
            else None
        if planned is None:
            ids = self._store.add(tasks)
            self._emit.created(tasks, ids)
            self._hint(min(due))
            return ids
        ids, claims = self._store.add_and_claim(tasks, now, planned.request)
        self._emit.created(tasks, ids)
        self._took(planned, claims)
        return ids

    def _on_get_tasks(self, message: GetTasks) -> list[Task]:
        query = message.query
        if query is None:  # asked with get_tasks' keyword filters: checked here
            query = task_query(**{key: value for key, value in message._asdict().items() if key != "query"})
        elif not isinstance(query, TaskQuery):
            raise ValidationError("query", query, "must be an actors.storage.base.TaskQuery or None")
        return self._store.query(query)

    def _on_update(self, message: UpdateTask) -> Task:
        task = self._store.update(message.task_id, check_changes(message.changes), self._clock.now())
        self._invalidate()
        if task.status is TaskStatus.PENDING and task.run_at is not None:
            self._hint(task.run_at.timestamp())  # a new interval may have moved it: claim then
        return task

    def _on_pause(self, message: PauseTask) -> Task:
        before = self._store.get(message.task_id) if "paused" in self._emit.bus.wanted else None
        task = self._store.pause(message.task_id, self._clock.now())
        if task.status is TaskStatus.PAUSED and (before is None or before.status is not TaskStatus.PAUSED):
            self._emit.changed("paused", task)  # (a running task pauses when its attempt ends)
        return task

    def _on_resume(self, message: ResumeTask) -> Task:
        task = self._store.resume(message.task_id, self._clock.now())
        self._emit.changed("resumed", task)
        self._invalidate()
        return task

    def _on_retry(self, message: RetryTask) -> Task:
        """FAILED / CANCELLED → PENDING due now; claimed at once when a worker has room."""
        now = self._clock.now()
        task = self._store.retry(message.task_id, now)
        self._emit.changed("retrying", task, manual=True)
        self._invalidate()  # (claims now: the task is due)
        return task

    def _on_bulk(self, message: BulkTasks) -> int:
        """``retry_tasks`` / ``cancel_tasks`` / ``delete_tasks``: the matching tasks, each through
        its own transition (as ``retry_task`` / ``cancel_task`` / ``delete_task``); returns how
        many changed (a task in a state the action skips, or gone meanwhile, is not counted)."""
        if message.action not in ("retry", "cancel", "delete"):
            raise ValidationError("action", message.action, "must be 'retry', 'cancel' or 'delete'")
        if not isinstance(message.query, TaskQuery):
            raise ValidationError("query", message.query, "must be an actors.storage.base.TaskQuery")
        changed = 0
        now = self._clock.now()
        for task in self._store.query(message.query):
            if message.action == "delete":
                changed += self._delete(task.id)
            elif message.action == "cancel":
                before = None if task.status.finished else self._cancel(task.id)
                changed += before is not None and before.status is TaskStatus.CANCELLED
            elif task.status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
                try:
                    self._emit.changed("retrying", self._store.retry(task.id, now), manual=True)
                except (TaskNotFound, ValidationError):
                    continue  # deleted or changed by another node meanwhile
                changed += 1
        if changed and message.action == "retry":
            self._invalidate()
        return changed

    def _on_cancel(self, message: CancelTask) -> Task:
        cancelled = self._cancel(message.task_id)
        if cancelled is None:
            raise TaskNotFound(message.task_id)
        return cancelled

    def _on_put_schedule(self, message: PutSchedule) -> Any:
        schedule = self._store.put_schedule(message.schedule)
        self._on_schedules_changed()
        return schedule

    def _on_schedules_changed(self) -> None:
        self._maintenance.schedules_changed()
        self._wake_scheduler(self._clock.now())

    def _cancel(self, task_id: str) -> Task | None:
        before = self._store.cancel(task_id, self._clock.now())
        if before is None:
            return None
        if task_id in self._held:
            self._cancelled.add(task_id)
            withdrawn, holder = self._dispatch.withdraw(task_id)
            if withdrawn:
                self._drop_held(task_id)  # it never reached a worker
            else:
                for key in range(len(self._slots)) if holder is None else [holder]:
                    self._slots[key].ref.tell(Abort(task_id, self._cfg.abort_grace))
        self._settle([task_id])
        after = self._store.get(task_id)
        if after is not None and after.status is TaskStatus.CANCELLED and before.status is not TaskStatus.CANCELLED:
            self._emit.changed("cancelled", after)
        return after

    def _delete(self, task_id: str) -> bool:
        if self._store.get(task_id) is None:
            return False
        self._cancel(task_id)
        deleted = self._store.delete(task_id)
        self._waiters.deleted(task_id)
        return deleted

    def _register(self, worker: TaskWorker) -> None:
        if worker.name in self._workers:
            log.warning("task worker %r registered again: the new one replaces the old", worker.name)
        self._workers[worker.name] = worker
        self._planner.workers({kind: [name for name, w in self._workers.items() if w.isolation == kind]
                               for kind in self._cfg.slots})
        self._maintenance.registered(worker.name)
        self._invalidate()

    # --- reporting -------------------------------------------------------------------------

    def _stats(self) -> dict[str, Any]:
        """The node's ``stats()`` (see ``Supervisor.stats``)."""
        now = from_timestamp(self._clock.now())
        counts = self._read(self._store.counts, {})  # (a failing store: stats still show the health)
        orphaned = {
            name: count for name, count in self._read(self._store.pending_names, {}).items()
            if name not in self._workers
        } if self._cfg.serving else {}
        slots = sum(self._cfg.slots.values())
        dispatch = self._dispatch.stats()
        dispatch["hops"].update(events=self._events.as_dict(), flushes=self._flushes.as_dict())
        busy = sum(1 for held in self._dispatch.holding().values() if held > 0)
        return {
            "node_id": self._cfg.node_id,
            "tasks": counts,
            # each status count at the top (as before), then the queue's record: its "paused" is the
            # queue's flag (the PAUSED tasks are counts["paused"])
            "queues": {info.name: {**info.counts, **info.as_dict()} for info in self._read(self._store.queues, [])},
            "held": len(self._held),
            "workers": {
                "registered": sorted(self._workers),
                "slots": len(self._slots),
                "held_by_kind": dict(self._planner.held),
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
            "dispatch": dispatch,  # the mode, and the average batch per message at each hop
            "events": self._emit.bus.stats(),  # subscribers, delivered, dropped, errors, ...
        }
