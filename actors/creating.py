"""How a spec becomes the ``Task`` to store: ``validated_tasks`` (a create's specs at once) and
``validated_task`` (one), the one place every create goes through (``Supervisor.create_tasks``
and ``ctx.create_task`` from a running task alike; the actor's ``CreateTask``), and the
``ValidateContext`` a worker's ``validate`` receives.

Stdlib and the actors kernel only. ``validate`` is user code that may call the supervisor
handle, so the handle's creates run them in the caller's thread, never on the supervisor
actor's (it would wait on itself).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ValidationError
from .spec import TaskSpec, build_task, check_json, coerce_spec
from .tracing import capture

if TYPE_CHECKING:
    from .models import Task
    from .workers import TaskWorker

__all__ = ["ValidateContext", "validated_task", "validated_tasks"]


@dataclass(frozen=True)
class ValidateContext:
    """The ``ctx`` of ``validate(ctx, options)``: the task about to be created, and the node.

    Attributes:
        task: the PENDING ``Task`` that will be stored if ``validate`` accepts it (its
            worker's default priority and queue applied; ``options`` is its metadata).
        supervisor: the ``Supervisor`` handle of the node creating it (``ctx.supervisor.get_task(...)``);
            None for a ``messages.CreateTask`` asked of the actor directly (``validate`` then runs on
            the actor's thread, where calling the node would wait on itself).
        parent_id: the id of the running task that created it with ``ctx.create_task``, or
            None for a create made through the handle.
    """

    task: Task
    supervisor: Any
    parent_id: str | None = None

    @property
    def name(self) -> str:
        """The task's name (the worker's)."""
        return self.task.name


def validated_task(spec: TaskSpec, *, task_id: str, now: float, worker: TaskWorker | None,
                   supervisor: Any, parent_id: str | None = None) -> Task:
    """The PENDING task ``spec`` describes, checked field by field, with ``worker``'s defaults
    (priority, queue), checked against ``worker.schema`` (the stored metadata is the schema's
    output) and accepted by ``worker.validate`` (when the worker has one).

    Args:
        spec: what the caller asked for (``spec.id``, when given, is used instead of ``task_id``).
        task_id: the new task's id.
        now: the creation time (epoch seconds).
        worker: the worker registered under ``spec.name`` where the create is made, or None
            (then only the field checks apply).
        supervisor: the handle ``validate`` finds as ``ctx.supervisor``.
        parent_id: the running task creating this one (``ValidateContext.parent_id``), kept
            as the task's ``parent_id`` (``get_tasks(parent_id=...)`` lists a task's children).

    Raises:
        ValidationError: a bad field (named, with its value; a schema's field by its name,
            ``"address.zip"``), or ``validate`` returned a
            false value or raised (field ``metadata``; its own ``ValidationError`` as is).
    """
    return validated_tasks([spec], [task_id], now=now, workers={} if worker is None else {spec.name: worker},
                           supervisor=supervisor, parent_id=parent_id, trace=capture())[0]


def validated_tasks(specs: Sequence[TaskSpec | Mapping[str, Any]], task_ids: Sequence[str], *, now: float,
                    workers: Mapping[str, TaskWorker], supervisor: Any, parent_id: str | None,
                    trace: dict[str, str] | None) -> list[Task]:
    """``validated_task`` of each of one create's specs (a dict is read by ``coerce_spec``, named
    ``specs[i]``), each with the worker registered under its name in ``workers``, all created at
    ``now`` and carrying the creator's ``trace`` context (``tracing.capture()``, taken once by
    the caller) unless the spec gives its own.

    Raises:
        ValidationError: as ``validated_task``, for the first spec refused.
    """
    tasks: list[Task] = []
    for index, (item, task_id) in enumerate(zip(specs, task_ids, strict=True)):
        spec = coerce_spec(item, index)
        worker = workers.get(spec.name) if isinstance(spec.name, str) else None
        task = build_task(spec, task_id=task_id if spec.id is None else spec.id, now=now,
                          default_priority=None if worker is None else worker.priority,
                          default_queue=None if worker is None else worker.queue or None,
                          default_trace=trace, parent_id=parent_id)
        if worker is not None and (worker.input_schema is not None or worker.validate is not None):
            task = _accepted(task, worker, supervisor, parent_id)
        tasks.append(task)
    return tasks


def _accepted(task: Task, worker: TaskWorker, supervisor: Any, parent_id: str | None) -> Task:
    """``task`` with its metadata as ``worker.schema`` gives it back, once ``worker.validate``
    accepts it (``ValidationError`` otherwise, field ``metadata``)."""
    if worker.input_schema is not None:  # the model's JSON dump (or the callable's dict) is stored
        task = dataclasses.replace(task, metadata=check_json("metadata", worker.input_schema.check(task.metadata)))
    if worker.validate is not None:
        context = ValidateContext(task, supervisor, parent_id)
        try:
            ok = worker.validate(context, dict(task.metadata))
        except ValidationError:
            raise
        except Exception as exc:
            raise ValidationError("metadata", task.metadata,
                                  f"rejected by {worker.name}.validate: {exc}") from exc
        if not ok:
            raise ValidationError("metadata", task.metadata, f"rejected by {worker.name}.validate")
    return task
