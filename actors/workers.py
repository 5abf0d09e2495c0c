"""Task workers: a name, the function that executes the task, and how to run it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .errors import ValidationError
from .retry import Retry
from .spec import check_max_iterations, check_name, check_priority, optional_str, seconds

__all__ = ["ISOLATIONS", "TaskWorker", "worker"]

ISOLATIONS = ("process", "thread")


@dataclass(frozen=True)
class TaskWorker:
    """What runs tasks of one name.

    Args:
        name: the task name this worker serves.
        execute: ``execute(ctx, options, task)`` (sync or ``async def``); ``options``
            is the task's metadata, ``task`` a ``Task`` snapshot, ``ctx`` a
            ``TaskContext``. The return value must be JSON and is kept as the result;
            a recurring task may return ``{"nextInterval": ms}`` to move its next run.
        validate: ``validate(ctx, options)``, run at every create of a task of this name
            where the worker is registered (``sup.create_task`` / ``create_tasks``, and
            ``ctx.create_task`` from a running task; a client-only node, ``workers=0``,
            validates too), in the creating thread; a false result or an exception refuses
            the task with ``ValidationError`` and nothing is stored. ``options`` is the
            task's metadata; ``ctx`` an ``actors.ValidateContext`` (frozen): ``ctx.name``,
            ``ctx.task`` (the ``Task`` about to be stored, defaults applied),
            ``ctx.supervisor`` (the node's handle: ``ctx.supervisor.get_task(...)``) and
            ``ctx.parent_id`` (the task that called ``ctx.create_task``, or None).
        retry: default ``Retry`` for this worker's one-time tasks (none: one attempt).
        timeout: default seconds an attempt may run before its process is killed.
        queue: default queue of new tasks (one that names none).
        priority: default priority of new tasks (one that names none).
        isolation: ``"process"`` (a pooled child process) or ``"thread"`` (the
            supervisor's process, for workers that need in-process objects).
        max_iterations: the most iterations (``actors.Continue``) a task of this worker may
            run, unless the task sets its own (None: 500, as Webiny).

    Raises:
        ValidationError: a bad option, named with its value.
    """

    name: str
    execute: Callable[..., Any]
    validate: Callable[..., Any] | None = None
    retry: Retry | None = None
    timeout: float | None = None
    queue: str | None = None
    priority: str | None = None
    isolation: str = "process"
    max_iterations: int | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        if not callable(self.execute):
            raise ValidationError("execute", self.execute, "must be callable")
        if self.validate is not None and not callable(self.validate):
            raise ValidationError("validate", self.validate, "must be callable or None")
        if self.retry is not None and not isinstance(self.retry, Retry):
            raise ValidationError("retry", self.retry, "must be an actors.Retry or None")
        if self.isolation not in ISOLATIONS:
            raise ValidationError("isolation", self.isolation, "must be 'process' or 'thread'")
        if self.priority is not None:
            check_priority(self.priority)
        check_max_iterations("max_iterations", self.max_iterations)
        object.__setattr__(self, "queue", optional_str("queue", self.queue))  # a UUID is kept as its text
        timeout: Any = self.timeout
        if isinstance(timeout, timedelta) or timeout is not None:
            object.__setattr__(self, "timeout", seconds("timeout", timeout, allow_zero=False))

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.execute)


def worker(name: str, **options: Any) -> Callable[[Callable[..., Any]], TaskWorker]:
    """Decorator building a ``TaskWorker`` from its ``execute`` function.

    Example:
        >>> @worker("SEND_EMAIL", retry=Retry(max_attempts=3))
        ... def send(ctx, options, task):
        ...     return {"sent": True}
        >>> send.name
        'SEND_EMAIL'
    """

    def build(execute: Callable[..., Any]) -> TaskWorker:
        return TaskWorker(name, execute, **options)

    return build


def as_worker(value: TaskWorker | Mapping[str, Any]) -> TaskWorker:
    """Accept a ``TaskWorker`` or the seeds' dict shape ``{"name": ..., "execute": ...}``."""
    if isinstance(value, TaskWorker):
        return value
    if isinstance(value, Mapping) and "name" in value and "execute" in value:
        return TaskWorker(**value)
    raise ValidationError("worker", value, "must be an actors.TaskWorker")
