"""Creating tasks from the caller's thread: the handle's ``create_task`` / ``create_tasks``
(``Creating``, a mixin of ``Supervisor``) and the ``Gate`` a create checks before it inserts.
The executors' ``StepWriter`` (``ctx.step``) writes the same way, from the calling thread.

A create validates its tasks (``validated_tasks``) and inserts them through the store's named
transition ``add`` in the calling thread, on a connection of its own (SQLite: one per thread;
PostgreSQL: one from its pool; memory: its lock), then tells the supervisor a ``Created``
carrying a ``Stored`` batch (how many, the earliest due time, the names) so it claims them
when due; creates until the supervisor takes the batch fold into it (a burst is one message
and one claim), and a node without workers is told nothing. It returns once the rows are
committed. The supervisor stays the only one that claims or changes a task after it exists.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .. import messages as msgs
from ..creating import validated_tasks
from ..errors import ActorsError, NodeStopped, as_actors_error
from ..models import Task
from ..requests import check_create_fields, check_specs
from ..spec import TaskSpec, coerce_spec, new_ids
from ..tracing import capture
from ..triggers import Looked, looked

if TYPE_CHECKING:
    from ..clock import Clock
    from ..storage.base import TaskStore
    from ..workers import TaskWorker
    from .emitter import Emitter

__all__ = ["Creating", "Gate", "NodeCalls"]


class Gate:
    """Open while the node takes calls; closed (once, with the reason) when the supervisor stops
    the node itself. Shared by the supervisor actor and the handle: read from the caller's
    thread, so a create on a stopped node is refused before it inserts anything."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.health: dict[str, object] | None = None

    def close(self, reason: str, health: dict[str, object] | None = None) -> None:
        if self.reason is None:
            self.health = health
            self.reason = reason

    def check(self) -> None:
        """``NodeStopped`` naming the reason, once the gate is closed."""
        if self.reason is not None:
            raise NodeStopped(self.reason, self.health)


class Creating:
    """``create_task`` / ``create_tasks`` and the executors' ``Creator``, for ``Supervisor``."""

    if TYPE_CHECKING:  # provided by Supervisor
        store: TaskStore
        clock: Clock
        _task_workers: dict[str, TaskWorker]
        _stopped: bool
        _gate: Gate
        _emit: Emitter
        _folding: threading.Lock  # the ``Stored`` batches' lock (shared with the supervisor)
        _stored: msgs.Stored | None  # the batch the supervisor has not taken yet (or has just)
        _serving: bool

        def _tell(self, message: object) -> None: ...

    def create_task(self, name: str, **fields: Any) -> str:
        """Store a new task and return its id. Keyword names as in ``TaskSpec``.

        Returns once the row is committed (inserted from this thread; the supervisor is told).

        Raises:
            ValidationError: bad input, named with its value; nothing is stored.
            NodeStopped: the node is stopped; nothing is stored.
            StoreError: the store refused the write; nothing is stored.
        """
        return self.create_tasks([coerce_spec({**check_create_fields(fields), "name": name})])[0]

    def create_tasks(self, specs: Iterable[TaskSpec | Mapping[str, Any]]) -> list[str]:
        """Store many tasks in one transaction; all or nothing. Returns their ids in order."""
        return self._create(check_specs(specs))

    def _build(self, given: list[TaskSpec | Mapping[str, Any]], parent_id: str | None) -> list[Task]:
        """The checked tasks of one create: one ``now`` (the batch's creation time), one capture
        of the creator's trace context and one read of random bytes for the ids, for all."""
        return validated_tasks(given, new_ids(len(given)), now=self.clock.now(), workers=self._task_workers,
                               supervisor=self, parent_id=parent_id, trace=capture())

    def _create(self, given: list[TaskSpec | Mapping[str, Any]], parent_id: str | None = None) -> list[str]:
        tasks = self._build(given, parent_id)
        if self._stopped:
            raise NodeStopped()
        self._gate.check()
        if not tasks:
            return []
        ordered = "created" in self._emit.bus.wanted and "started" in self._emit.bus.wanted
        with self._emit.bus.creating if ordered else contextlib.nullcontext():
            try:
                ids = self.store.add(tasks)
            except ActorsError:
                raise
            except Exception as exc:  # (the stores raise ActorsError; anything else is translated)
                raise as_actors_error(exc) from exc
            self._emit.created(tasks, ids)
        due = [task.run_at.timestamp() for task in tasks if task.run_at is not None and not task.status.finished]
        self._announce(len(tasks), min(due) if due else None, {task.name for task in tasks})
        return ids

    def _announce(self, count: int, due: float | None, names: set[str]) -> None:
        """Tell the supervisor what was stored: folded into the ``Created`` it has not taken yet,
        else in a new one (a burst of creates costs it one message). Two threads that both
        start one tell one each; every batch told is taken, and a fold lands only in a batch
        not yet taken. A node without workers claims nothing: its supervisor is not told."""
        if not self._serving:
            return
        stored = self._stored
        if stored is not None and stored.fold(count, due, names):
            return
        self._stored = stored = msgs.Stored(self._folding)
        stored.fold(count, due, names)
        try:
            self._tell(msgs.Created(stored))
        except NodeStopped:  # stopped meanwhile: the rows are stored, claimed later
            self._stored = None

    def _save_step(self, task_id: str, token: str, key: str, value: Any) -> None:
        """The executors' ``StepWriter`` (``ctx.step`` of the attempt holding ``token``): the store's
        named transition ``save_step``, fenced by the token, run in the calling thread (an
        executor's, never the supervisor actor's). Returns once the step is committed; only
        ``ActorsError`` leaves it (a stale attempt: the step is not stored)."""
        try:
            saved = self.store.save_step(task_id, token, key, value, self.clock.now())
        except ActorsError:
            raise
        except Exception as exc:
            raise as_actors_error(exc) from exc
        if not saved:
            raise ActorsError(f"ctx.step({key!r}): this attempt no longer holds task {task_id!r} (its lease "
                              "was lost, or the task was cancelled); the step was not stored")

    def _create_chained(self, parent_id: str, spec: dict[str, Any]) -> str:
        """The executors' ``Creator`` (``ctx.create_task`` of task ``parent_id``): the same create
        path as ``create_task``, run in the calling thread (an executor's, never the supervisor
        actor's); only ``ActorsError`` leaves it."""
        return self._create_children(parent_id, [spec], "create_task")[0]

    def _create_children(self, parent_id: str, specs: list[dict[str, Any]], call: str) -> list[str]:
        try:
            return self._create(list(specs), parent_id)
        except ActorsError:
            raise
        except Exception as exc:
            raise ActorsError(f"ctx.{call}: the task could not be created: {type(exc).__name__}: "
                              f"{exc}") from exc


class NodeCalls:
    """The executors' ``TaskCalls`` (``ctx.trigger`` / ``ctx.wait``, ``actors.triggers``) on one
    node: creates through the handle's create path, reads from the store, in the calling thread
    (an executor's, never the supervisor actor's); only ``ActorsError`` leaves."""

    def __init__(self, creating: Creating) -> None:
        self._creating = creating

    def trigger(self, parent_id: str, specs: list[dict[str, Any]]) -> list[str]:
        return self._creating._create_children(parent_id, specs, "trigger")

    def look(self, task_ids: list[str]) -> list[Looked | None]:
        try:
            found = self._creating.store.get_many(list(task_ids))
        except Exception as exc:
            raise as_actors_error(exc) from exc
        return [None if (task := found.get(task_id)) is None else looked(task) for task_id in task_ids]
