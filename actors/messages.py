"""Typed messages between actors, and the events an executor reports.

Stdlib only. One NamedTuple per interaction; each actor dispatches on the type
in one place. Nothing mutable is shared: tasks travel as frozen snapshots (the one exception,
``Stored``, holds counts and names behind a lock).

The supervisor's operations, for an application built on pykka that asks the
supervisor's ``ActorRef`` (``sup.ref``) directly; each replies as the handle's method
of the same name and runs the same checks in the actor (a bad field raises
``ValidationError`` naming it, nothing stored):

- ``CreateTask(name, **fields)`` (``create_task``'s keywords) → the new id.
- ``UpdateTask(task_id, {"field": value, ...})`` (``update_task``'s keywords as a
  dict) → the updated ``Task``; ``TaskNotFound`` for an unknown id.
- ``DeleteTask(task_id)`` → True if it existed. ``GetTask(task_id)`` → ``Task | None``.
- ``GetTasks(name=..., status=..., tags=..., limit=..., ...)`` (``get_tasks``' filters),
  or ``GetTasks(query)`` with a ``TaskQuery`` → ``list[Task]``.
- ``PauseTask`` / ``ResumeTask`` / ``CancelTask`` / ``RetryTask(task_id)`` → the ``Task`` after.
- ``BulkTasks(action, query)`` (``"retry"`` / ``"cancel"`` / ``"delete"``) → the count changed.

Example:
    >>> import actors
    >>> from actors.messages import CreateTask, GetTask
    >>> with actors.Supervisor.start("memory://", workers=0) as sup:
    ...     task_id = sup.ref.ask(CreateTask("REPORT", tags=["weekly"]))
    ...     sup.ref.ask(GetTask(task_id)).tags
    ('weekly',)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .errors import ValidationError
from .events import ExecutorEvent, Job, JobDone, JobLog, JobMetadata, JobProgress, JobStarted
from .models import Schedule, Task, TaskStatus
from .spec import SPEC_FIELDS, TaskSpec

__all__ = [
    "AddWorker", "BulkTasks", "CancelTask", "CreateTask", "Created", "DeleteTask", "Enqueue", "ExecutorEvent",
    "GetDispatch", "GetTask", "GetTasks", "HandOut", "Job", "JobDone", "JobLog", "JobMetadata",
    "JobProgress", "JobStarted", "PauseTask", "Refused", "ResumeTask", "RetireWorker", "RetryTask",
    "TakeAll", "UpdateTask", "Withdraw",
]


# --- between the actors of one node -----------------------------------------------------


class Work(NamedTuple):
    """A claimed task on its way to a worker: the job and the function that runs it."""

    job: Job
    execute: Any
    kind: str


class CreateTasks(NamedTuple):
    """Store validated PENDING tasks (one transaction). Reply: their ids."""

    tasks: list[Task]


@dataclass(frozen=True, init=False)
class CreateTask:
    """Create one task: ``CreateTask(name, **fields)`` with ``create_task``'s keywords.
    Reply: its id. The actor validates it as ``create_task`` does (its worker's defaults
    and ``validate`` included).

    Raises:
        ValidationError: an unknown keyword (named).
    """

    spec: TaskSpec

    def __init__(self, name: str, **fields: Any) -> None:
        unknown = sorted(set(fields) - SPEC_FIELDS)
        if unknown or "name" in fields:
            bad = unknown[0] if unknown else "name"
            raise ValidationError(bad, fields[bad], "unknown field" if unknown else "given twice")
        object.__setattr__(self, "spec", TaskSpec(name=name, **fields))


class UpdateTask(NamedTuple):
    """Change fields of a task (``update_task``'s keywords as a dict; checked by the actor).
    Reply: the updated Task (raises TaskNotFound, ValidationError)."""

    task_id: str
    changes: dict[str, Any]


class DeleteTask(NamedTuple):
    """Cancel (if running) and remove a task. Reply: True if it existed."""

    task_id: str


class GetTask(NamedTuple):
    """Reply: the Task or None."""

    task_id: str


class GetTasks(NamedTuple):
    """Reply: the tasks matching ``query`` (a ``TaskQuery``), or, when it is None, the
    keyword filters of ``get_tasks`` (``GetTasks(name="X", status="pending")``)."""

    query: Any = None
    room_id: str | None = None
    world_id: str | None = None
    entity_id: str | None = None
    tags: Sequence[str] | None = None
    name: str | None = None
    status: TaskStatus | str | Sequence[TaskStatus | str] | None = None
    limit: int | None = None
    queue: str | None = None
    parent_id: str | None = None
    offset: int = 0


class RetryTask(NamedTuple):
    """Reply: the Task after a FAILED / CANCELLED task went back to PENDING, due now."""

    task_id: str


class BulkTasks(NamedTuple):
    """Reply: how many tasks matching ``query`` (a ``TaskQuery``) ``action`` changed: ``"retry"``,
    ``"cancel"`` or ``"delete"`` (``retry_tasks`` / ``cancel_tasks`` / ``delete_tasks``)."""

    action: str
    query: Any


class GetLogs(NamedTuple):
    """Reply: the task's log records (of one ``iteration``; None: all)."""

    task_id: str
    iteration: int | None = None


class PauseTask(NamedTuple):
    """Reply: the Task after pausing."""

    task_id: str


class ResumeTask(NamedTuple):
    """Reply: the Task after resuming."""

    task_id: str


class CancelTask(NamedTuple):
    """Reply: the Task after cancelling (raises TaskNotFound)."""

    task_id: str


class Watch(NamedTuple):
    """Resolve ``future`` with the task's snapshot once an attempt settles it.

    One-time tasks settle when finished; recurring ones after their next run ends.
    A missing task resolves with None.
    """

    task_id: str
    future: Any


class Unwatch(NamedTuple):
    """Forget a waiter (its wait timed out)."""

    task_id: str
    future: Any


class RegisterWorker(NamedTuple):
    """Serve tasks of ``worker.name`` on this node (replaces an earlier one, with a warning)."""

    worker: Any


class PutSchedule(NamedTuple):
    """Insert or replace a schedule (reply: the stored ``Schedule``)."""

    schedule: Schedule


class GetSchedules(NamedTuple):
    """Reply: every schedule, by key."""


class DeleteSchedule(NamedTuple):
    """Remove a schedule (reply: True if it existed)."""

    key: str


class GetStats(NamedTuple):
    """Reply: a dict of counts (by status), workers, orphans and health."""


class Tick(NamedTuple):
    """Time passed: claim due work, run maintenance, say when to wake next.

    ``scheduled``: sent by the node's scheduler thread, which sends no other tick until
    the supervisor tells it (``Scheduler.taken``) that it started handling this one, so
    ticks never pile up in the inbox ahead of the workers' events however often it is
    woken. A plain flag: the supervisor owns its scheduler (given at construction).
    """

    now: float
    scheduled: bool = False


class WorkerEvents(NamedTuple):
    """Events reported by a worker's executor, in order."""

    events: tuple[ExecutorEvent, ...]


class Flush(NamedTuple):
    """Write the buffered worker events in one transaction (sent to self)."""


class Stored:
    """What creates stored since the supervisor last looked: how many tasks, the earliest due
    time, the names. Filled by the creating threads (``fold``) until the supervisor ``take``s
    it; a burst of creates is one ``Created`` message, however many tasks it stored.

    The one object on the create path that two threads touch, behind one lock: it holds
    counts and names, never a task. ``fold`` on a taken batch returns False (the caller
    starts the next batch and tells it).
    """

    __slots__ = ("_lock", "_taken", "count", "due", "names")

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._taken = False
        self.count = 0
        self.due: float | None = None  # the earliest run_at among them (None: none will be due)
        self.names: set[str] = set()

    def fold(self, count: int, due: float | None, names: Iterable[str]) -> bool:
        """Add ``count`` stored tasks (earliest due ``due``, of ``names``); False once taken."""
        with self._lock:
            if self._taken:
                return False
            self.count += count
            if due is not None:
                self.due = due if self.due is None else min(self.due, due)
            self.names.update(names)
            return True

    def take(self) -> tuple[int, float | None, frozenset[str]]:
        """Seal the batch: (count, earliest due, names). Later ``fold`` calls return False."""
        with self._lock:
            self._taken = True
            return self.count, self.due, frozenset(self.names)


class Created(NamedTuple):
    """Told by a caller that stored new tasks itself (``create_task`` inserts from its own
    thread): claim them when due. The supervisor ``take``s the batch and notes its due time
    for the workers it has of its names; the rows are in the store already."""

    stored: Stored


class Pump(NamedTuple):
    """Claim due work now (sent to self, so creates that arrive together share one claim)."""


class Release(NamedTuple):
    """Claimed jobs that never started: give them back to the store."""

    jobs: list[Job]


class Shutdown(NamedTuple):
    """Stop claiming; release everything still held. Reply: number released."""


class Dispatch(NamedTuple):
    """Jobs for one worker, in the order they must run."""

    items: list[Work]


class Abort(NamedTuple):
    """Abort a job if this worker has it."""

    task_id: str
    grace: float


class StopWorker(NamedTuple):
    """Finish the running job within ``timeout``; reply with the jobs that never started."""

    timeout: float


class Attach(NamedTuple):
    """The node is wired: start the worker actors (the supervisor's ``Workers``, given at
    construction) and start claiming. Asked by the composition root; raises
    ``ChildStartError`` when a worker cannot start its execution slot."""


class ReleaseAll(NamedTuple):
    """After the workers stopped: record what they reported, give back every claim still held."""


class WhenIdle(NamedTuple):
    """Resolve ``future`` with True once this node holds no claim and has nothing buffered."""

    future: Any


class ChildExited(NamedTuple):
    """A child of the supervisor died (OTP's ``EXIT``): the supervisor restarts it.

    ``kind``: ``"worker"`` (``key`` is its actor ref) or ``"scheduler"`` (``key`` None);
    ``reason``: what killed it; ``jobs``: jobs it held that never started (given back).
    """

    kind: str
    key: Any
    reason: str
    jobs: tuple[Job, ...] = ()


# --- the dispatch queue actor (``actors.runtime.dispatch``: the supervisor's pool as an actor) ---


class Enqueue(NamedTuple):
    """To the queue actor: one claim's worth of work, and the attempt ends recorded since the last
    message (``(task id, token)``: those workers have room again). One message per claim."""

    items: tuple[Work, ...]
    ended: tuple[tuple[str, str], ...] = ()


class AddWorker(NamedTuple):
    """To the queue actor: worker ``key`` of ``kind`` joins (or, replaced, rejoins) holding nothing.
    ``ref``: its actor; ``direct``: its executor when that only queues (None: ``Dispatch``)."""

    key: int
    kind: str
    ref: Any
    direct: Any = None


class RetireWorker(NamedTuple):
    """To the queue actor: worker ``key`` takes no more work. Reply: the task ids it held."""

    key: int


class Withdraw(NamedTuple):
    """To the queue actor: take ``task_id`` out if it waits. Reply: ``(withdrawn, holder key or None)``."""

    task_id: str


class TakeAll(NamedTuple):
    """To the queue actor (on shutdown): empty its queues. Reply: the work that waited."""


class GetDispatch(NamedTuple):
    """To the queue actor. Reply: ``(jobs held per worker key, counters per hop)``."""


class HandOut(NamedTuple):
    """The queue actor to itself: hand out what waits, after the messages already in its inbox."""


class Refused(NamedTuple):
    """To the supervisor: a worker's executor refused these jobs (they never started); give them
    back and claim again."""

    jobs: tuple[Job, ...]
