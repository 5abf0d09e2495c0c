"""Tasks that start and wait on other tasks: ``ctx.trigger`` / ``ctx.trigger_and_wait`` and kin.

Stdlib and the actors kernel only (it runs in a pool child too). ``Triggering`` is the part of
``TaskContext`` that does it; the context reaches the node through a :class:`TaskCalls`
(``trigger`` stores children, ``look`` reads their state) that its executor built: calls on
the node in thread and inline isolation, requests over the child → parent channel in process
isolation.

How a wait holds no slot: a wait whose tasks are not all finished ends the attempt. It raises
:class:`Suspend` (a ``BaseException``, so an ``except Exception`` in the task does not swallow
it), which ``run_attempt`` turns into the outcome :class:`~actors.models.Waiting`; the node
puts the task back to PENDING without spending an attempt (``TaskStore.suspend``), and makes
it due again once the children are finished (or at the wait's deadline). The task then runs
again from the start: each trigger at the same point returns the child it created the first
time (a deterministic ``idempotency_key``: the parent's id and the call's index), and the wait
finds them finished and returns at once. So code before a wait runs again on every wake-up:
it must be safe to repeat (docs/architecture.md, "Tasks that wait").
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .errors import ActorsError, TaskCancelled, TaskFailed, TaskNotFound, Timeout, ValidationError
from .models import TaskStatus, Waiting
from .spec import TaskSpec

if TYPE_CHECKING:
    from .clock import Clock
    from .models import Task

__all__ = ["Looked", "RunResult", "Suspend", "TaskCalls", "Triggering", "derived_key", "looked"]

_FINISHED = frozenset({TaskStatus.SUCCEEDED.value, TaskStatus.FAILED.value, TaskStatus.CANCELLED.value})


class RunResult(NamedTuple):
    """One child's end, as ``ctx.batch_trigger_and_wait`` returns it (Trigger.dev's run result).

    ``ok`` True: it SUCCEEDED and ``output`` is its result. False: it FAILED (``error`` is its
    error text) or was cancelled or deleted (``error`` says so); ``output`` is None.
    """

    id: str
    ok: bool
    output: Any
    error: str | None


class Looked(NamedTuple):
    """What a waiting task needs to know of another task (``TaskCalls.look``)."""

    id: str
    status: str  # a TaskStatus value
    result: Any
    error: str | None
    attempts: int
    created_at: float | None  # epoch seconds
    parent_id: str | None


def looked(task: Task) -> Looked:
    """The ``Looked`` of a task snapshot."""
    created = task.created_at.timestamp() if task.created_at is not None else None
    return Looked(task.id, task.status.value, task.result, task.error, task.attempts, created, task.parent_id)


class TaskCalls(Protocol):
    """What a running task asks of its node (built by ``system``/the executor; thread-safe)."""

    def trigger(self, parent_id: str, specs: list[dict[str, Any]]) -> list[str]:
        """Store ``specs`` (``create_task``'s keywords plus ``name``) as children of ``parent_id``
        in one transaction; their ids, in order, once committed. Only ``ActorsError`` leaves."""
        ...

    def look(self, task_ids: list[str]) -> list[Looked | None]:
        """The state of each task (None: no such task), in order."""
        ...


class Suspend(BaseException):
    """Raised by a wait whose tasks are not finished: the attempt ends ``Waiting``."""

    def __init__(self, outcome: Waiting) -> None:
        super().__init__(outcome.describe())
        self.outcome = outcome


def derived_key(parent_id: str, index: int) -> str:
    """The ``idempotency_key`` of a parent's ``index``-th trigger (from 0, in call order)."""
    return f"actors.trigger:{parent_id}:{index}"


class Triggering:
    """``trigger``, ``batch_trigger``, ``trigger_and_wait``, ``batch_trigger_and_wait`` and
    ``wait`` of a ``TaskContext`` (which provides the attributes below)."""

    if TYPE_CHECKING:
        _calls: TaskCalls | None
        _clock: Clock
        _started: float
        _trigger_count: int  # call indexes handed out so far (0 in a fresh context)

        @property
        def task(self) -> Task: ...

        def _spec(self, name: str, fields: Mapping[str, Any]) -> dict[str, Any]: ...

    _trigger_lock = threading.Lock()  # (class-wide: cheap, and triggers are rare)

    def trigger(self, name: str, /, **fields: Any) -> str:
        """Create a child task (``create_task``'s keywords) and return its id.

        The child is in the store when this returns and carries ``task.parent_id``. When this
        task runs again (a retry, a crash, a wake-up after a wait), the trigger at the same
        point returns the same child instead of creating another: its ``idempotency_key`` is
        derived from this task's id and the call's index, unless ``idempotency_key`` is given.

        Raises:
            ValidationError: a bad field (named), or the worker's ``validate`` refused it.
            ActorsError: it could not be stored.
        """
        return self.batch_trigger([{**fields, "name": name}])[0]

    def batch_trigger(self, specs: Iterable[Mapping[str, Any] | TaskSpec]) -> list[str]:
        """Create several children in one transaction (each spec a dict of ``create_task``'s
        keywords plus ``name``, or a ``TaskSpec``); their ids in order. Same rules as
        :meth:`trigger`, one call index per spec."""
        if isinstance(specs, (str, bytes, Mapping, TaskSpec)) or not isinstance(specs, Iterable):
            raise ValidationError("specs", specs, "must be a list of dicts or actors.TaskSpec")
        given = [_as_dict(spec, index) for index, spec in enumerate(specs)]
        checked = []
        for index, spec in enumerate(given):
            name = spec.pop("name", None)
            if not isinstance(name, str) or not name:
                raise ValidationError(f"specs[{index}].name", name, "must be a non-empty string")
            checked.append(self._spec(name, spec))
        if self._calls is None:
            raise ActorsError("ctx.trigger: this context was built without a way to reach the node")
        with self._trigger_lock:
            first = self._next_index(len(checked))
        for offset, spec in enumerate(checked):
            if spec.get("idempotency_key") is None:
                spec["idempotency_key"] = derived_key(self.task.id, first + offset)
        return self._calls.trigger(self.task.id, checked)

    def _next_index(self, count: int) -> int:
        first = self._trigger_count
        self._trigger_count = first + count
        return first

    def trigger_and_wait(self, name: str, /, *, timeout: float | None = None, **fields: Any) -> Any:
        """:meth:`trigger` then :meth:`wait`: the child's result.

        Raises:
            TaskFailed: the child failed for good. TaskCancelled: it was cancelled or deleted.
            Timeout: it did not finish within ``timeout`` seconds of its creation (see :meth:`wait`).
        """
        return self.wait(self.trigger(name, **fields), timeout=timeout)

    def batch_trigger_and_wait(self, specs: Iterable[Mapping[str, Any] | TaskSpec], *,
                               timeout: float | None = None) -> list[RunResult]:
        """:meth:`batch_trigger`, then wait for all of them: one :class:`RunResult` per spec, in
        input order (a failed child is ``ok=False``, it raises nothing).

        Raises:
            Timeout: they were not all finished within ``timeout`` seconds of their creation.
        """
        ids = self.batch_trigger(specs)
        return [_run_result(item) for item in self._settled(ids, timeout)]

    def wait(self, task_id: str, timeout: float | None = None) -> Any:
        """Wait until task ``task_id`` is finished and return its result, holding no worker or
        queue slot meanwhile (this attempt ends and the task runs again once it is finished;
        see the module docstring).

        ``timeout`` (seconds) counts from the later of the two creations (this task's and
        ``task_id``'s: a child's own creation, for a child of this task), so a run of this task
        after a wake-up, a retry or a crash does not restart it.

        Raises:
            TaskNotFound: no such task. TaskFailed / TaskCancelled: as ``sup.wait``.
            Timeout: not finished in time.
        """
        item = self._settled([task_id], timeout)[0]
        if item.status == TaskStatus.CANCELLED.value:
            raise TaskCancelled(item.id)
        if item.status == TaskStatus.FAILED.value:
            raise TaskFailed(item.id, item.error, item.attempts)
        return item.result

    def _settled(self, task_ids: Sequence[str], timeout: float | None) -> list[Looked]:
        """Every task of ``task_ids`` finished, or the attempt suspends (``Suspend``)."""
        for task_id in task_ids:
            if not isinstance(task_id, str) or not task_id:
                raise ValidationError("task_id", task_id, "must be a non-empty string")
            if task_id == self.task.id:
                raise ValidationError("task_id", task_id, "is this task: it cannot wait on itself")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or not timeout >= 0):
            raise ValidationError("timeout", timeout, "must be a number of seconds >= 0 or None")
        if self._calls is None:
            raise ActorsError("ctx.wait: this context was built without a way to reach the node")
        found = self._calls.look(list(task_ids))
        items: list[Looked] = []
        for task_id, item in zip(task_ids, found, strict=True):
            if item is None:
                raise TaskNotFound(task_id)
            items.append(item)
        pending = [item for item in items if item.status not in _FINISHED]
        if not pending:
            return items
        deadline = None
        if timeout is not None:
            deadline = min(self._since(item) for item in pending) + float(timeout)
            if self._clock.now() >= deadline:
                raise Timeout(f"ctx.wait: {len(pending)} task(s) not finished within {timeout:g}s "
                              f"({', '.join(item.id for item in pending)})")
        raise Suspend(Waiting(tuple(item.id for item in pending), deadline))

    def _since(self, item: Looked) -> float:
        """When a wait on ``item`` counts its timeout from: the later of the two creations (this
        task's and ``item``'s; a child's own, for a child), the same in every run of this task."""
        mine = self.task.created_at.timestamp() if self.task.created_at is not None else self._started
        return max(mine, item.created_at if item.created_at is not None else mine)


def _as_dict(spec: Mapping[str, Any] | TaskSpec, index: int) -> dict[str, Any]:
    if isinstance(spec, TaskSpec):  # the fields given (a default is not passed on)
        return {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)
                if f.name == "name" or getattr(spec, f.name) != f.default}
    if not isinstance(spec, Mapping):
        raise ValidationError(f"specs[{index}]", spec, "must be a dict or actors.TaskSpec")
    return dict(spec)


def _run_result(item: Looked) -> RunResult:
    if item.status == TaskStatus.SUCCEEDED.value:
        return RunResult(item.id, True, item.result, None)
    if item.status == TaskStatus.FAILED.value:
        return RunResult(item.id, False, None, item.error)
    return RunResult(item.id, False, None, "cancelled")
