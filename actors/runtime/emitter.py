"""What the supervisor records, as events on the node's bus (``actors.feed.bus``).

Each method is called once per batch the supervisor records (claims taken, reports
written, attempt ends applied, a user's change) and first tests whether anybody
subscribed to the kinds it would build (``EventBus.wanted``): with no subscriber a batch
costs one set lookup per kind and builds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..feed.event import Event, task_event
from ..messages import JobProgress
from ..models import TaskStatus
from .recorder import Batch

if TYPE_CHECKING:
    from ..clock import Clock
    from ..feed.bus import EventBus
    from ..models import Claim, Task
    from ..storage.base import Continuation, Finish

__all__ = ["Emitter", "ended_kind"]


def ended_kind(finish: Finish, recurring: bool) -> str:
    """The event an applied attempt end is: ``succeeded`` / ``failed`` / ``cancelled`` /
    ``paused`` (a recurring task auto-paused), ``retrying`` (PENDING again after an error),
    or ``succeeded`` for a recurring task's run that ended well (PENDING for its next run)."""
    if finish.status is TaskStatus.PENDING:
        return "succeeded" if recurring and finish.error is None else "retrying"
    return {TaskStatus.SUCCEEDED: "succeeded", TaskStatus.FAILED: "failed", TaskStatus.CANCELLED: "cancelled",
            TaskStatus.PAUSED: "paused"}.get(finish.status, "retrying")


class Emitter:
    """Builds the supervisor's events and hands them to the bus.

    Args:
        bus: the node's event bus.
        node_id: this node's id, carried in each event's ``data["node_id"]``.
        clock: the node's clock (an event's ``at``).
        held: the supervisor's claims in hand (task id → claim): the task each report is about.
    """

    def __init__(self, bus: EventBus, clock: Clock, node_id: str, held: Mapping[str, Claim]) -> None:
        self.bus = bus
        self._clock = clock
        self._node = node_id
        self._held = held

    def started(self, claims: list[Claim]) -> None:
        """Claims taken: each task is RUNNING, attempt ``task.attempts``."""
        if "started" in self.bus.wanted:
            now = self._clock.now()
            events = [task_event("started", c.task, now, {"attempt": c.task.attempts, "node_id": self._node})
                      for c in claims]
            with self.bus.creating:  # after the created events of a create still on its way
                self.bus.emit(events)

    def before(self, batch: Batch) -> Batch | None:
        """What of a flush's batch to report once written (the writes consume the batch);
        None when nobody subscribed to progress or metadata."""
        wanted = self.bus.wanted
        if "progress" not in wanted and "metadata" not in wanted:
            return None
        return Batch([], dict(batch.progress), list(batch.metadata), [])

    def reports(self, written: Batch | None, kept: list[Any]) -> None:
        """Progress values and metadata merges of ``written`` (from :meth:`before`) that the
        store took (``kept``: the events the recorder keeps for a retry)."""
        if written is None:
            return
        now = self._clock.now()
        wanted = self.bus.wanted
        again = {id(event) for event in kept}
        retried = {(e.task_id, e.token) for e in kept if isinstance(e, JobProgress)}
        events: list[Event | None] = []
        if "progress" in wanted:
            events += [self._of("progress", task_id, now, {"progress": value})
                       for (task_id, token), value in written.progress.items() if (task_id, token) not in retried]
        if "metadata" in wanted:
            events += [self._of("metadata", m.task_id, now, {"values": m.values}) for m in written.metadata
                       if id(m) not in again]
        found = [event for event in events if event is not None]
        if found:
            self.bus.emit(found)

    def _of(self, kind: str, task_id: str, now: float, data: dict[str, Any]) -> Event | None:
        claim = self._held.get(task_id)
        if claim is None:
            return None
        data.update(attempt=claim.task.attempts, node_id=self._node)
        return task_event(kind, claim.task, now, data)

    def ended(self, finishes: list[Finish], applied: Iterable[str]) -> None:
        """Attempt ends the store applied (called while their claims are still held)."""
        if self.bus.wanted:
            self._applied(finishes, applied, self._end_event)

    def continued(self, continuations: list[Continuation], applied: Iterable[str]) -> None:
        """Attempts that returned ``actors.Continue`` and whose next iteration the store applied
        (called while their claims are still held): ``continued``, with the next ``iteration``
        and when it is due (``run_at``)."""
        if "continued" in self.bus.wanted:
            self._applied(continuations, applied, self._continue_event)

    def _applied(self, items: Sequence[Finish | Continuation], applied: Iterable[str],
                 build: Callable[[Any, Task, float], Event | None]) -> None:
        """``build(item, task, now)`` for each item the store applied whose claim is held; emitted."""
        now = self._clock.now()
        done = set(applied)
        events = []
        for item in items:
            claim = self._held.get(item.task_id)
            if claim is None or item.task_id not in done:
                continue
            event = build(item, claim.task, now)
            if event is not None:
                events.append(event)
        if events:
            self.bus.emit(events)

    def _end_event(self, finish: Finish, task: Task, now: float) -> Event | None:
        kind = ended_kind(finish, task.recurring)
        if kind not in self.bus.wanted:
            return None
        data: dict[str, Any] = {"attempt": task.attempts, "node_id": self._node}
        if finish.status is TaskStatus.SUCCEEDED or kind == "succeeded":
            data["result"] = finish.result
        if finish.error is not None:
            data["error"] = finish.error
        if finish.status is TaskStatus.PENDING and finish.run_at is not None:
            data["run_at"] = task_event(kind, task, finish.run_at, {}).at.isoformat()
        return task_event(kind, task, now, data)

    def _continue_event(self, item: Continuation, task: Task, now: float) -> Event:
        data = {"iteration": task.iteration + 1, "node_id": self._node,
                "run_at": task_event("continued", task, item.run_at, {}).at.isoformat()}
        return task_event("continued", task, now, data)

    def changed(self, kind: str, task: Task | None, **data: Any) -> None:
        """A user's change of one task (``cancelled``, ``paused``, ``resumed``, ``retrying``),
        recorded at ``task.updated_at``."""
        if task is not None and kind in self.bus.wanted:
            now = task.updated_at.timestamp() if task.updated_at is not None else self._clock.now()
            data.update(attempt=task.attempts, node_id=self._node)
            self.bus.emit([task_event(kind, task, now, data)])

    def created(self, tasks: Iterable[Task], ids: list[str]) -> None:
        """Tasks inserted (a create whose idempotency key returned an older task's id made
        nothing new: no event)."""
        if "created" in self.bus.wanted:
            now = self._clock.now()
            self.bus.emit([task_event("created", task, task.created_at.timestamp() if task.created_at else now,
                                      {"node_id": self._node})
                           for task, task_id in zip(tasks, ids, strict=True) if task.id == task_id])
