"""Task workers: a name, the function that executes the task, and how to run it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .cron import Cron
from .errors import ValidationError
from .retry import Retry
from .schema import Schema
from .spec import check_max_iterations, check_name, check_priority, optional_str, seconds

__all__ = ["HOOKS", "ISOLATIONS", "TaskWorker", "worker"]

ISOLATIONS = ("process", "thread")
#: The optional hook fields of a worker (each a callable or None); see ``actors.attempt``.
HOOKS = ("init", "cleanup", "on_start", "on_success", "on_failure", "on_complete", "on_abort",
         "on_max_iterations", "catch_error")


@dataclass(frozen=True)
class TaskWorker:
    """What runs tasks of one name.

    Hooks run where the task runs (the child process under process isolation); an exception
    in one is logged with the attempt and never changes the outcome (see ``actors.attempt``).

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
        init: ``init(ctx, options)`` before every attempt; its value is ``ctx.init``.
        cleanup: ``cleanup(ctx, options)`` after every attempt, whatever happened.
        middleware: a list of ``mw(ctx, options, call_next)``, outermost first, wrapping
            ``execute`` (``call_next()`` returns what the rest returned).
        on_start: ``(ctx, options)`` when an attempt starts.
        on_success: ``(ctx, options, result)`` when the attempt succeeded.
        on_failure: ``(ctx, options, error)`` when the task FAILED for good (no retry left).
        on_complete: ``(ctx, options, outcome)`` at the task's final end (succeeded, failed,
            cancelled); ``outcome`` an ``actors.models`` outcome.
        on_abort: ``(ctx, options)`` when the running task was cancelled.
        on_max_iterations: ``(ctx, options)`` when a ``Continue`` went past ``max_iterations``.
        catch_error: ``(ctx, options, error)`` when an attempt raised: ``None`` (the retry
            policy decides), ``False`` (fail now, no retry) or seconds (retry after that delay,
            within the policy's ``max_attempts``; 3 without a policy).
        schema: a pydantic ``BaseModel`` subclass or ``fn(options) -> dict`` that raises: the
            metadata is checked at every create where the worker is registered; with a model,
            ``execute`` gets the model instance and the stored metadata is its JSON dump.
        title: a human title for listings (Webiny's definition metadata).
        description: what the worker does, for listings.
        private: hide the worker's tasks from the HTTP API / dashboard listings unless asked
            for by name (Webiny ``isPrivate``).
        frequency: seconds: a periodic worker (actionhero ``frequency``); the first node that
            registers it makes sure the schedule keyed by its name exists.
        cron: a cron expression instead of ``frequency`` (not both).

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
    init: Callable[..., Any] | None = None
    cleanup: Callable[..., Any] | None = None
    middleware: Sequence[Callable[..., Any]] = ()  # kept as a tuple
    on_start: Callable[..., Any] | None = None
    on_success: Callable[..., Any] | None = None
    on_failure: Callable[..., Any] | None = None
    on_complete: Callable[..., Any] | None = None
    on_abort: Callable[..., Any] | None = None
    on_max_iterations: Callable[..., Any] | None = None
    catch_error: Callable[..., Any] | None = None
    schema: Any = None
    title: str | None = None
    description: str | None = None
    private: bool = False
    frequency: float | None = None
    cron: str | None = None
    input_schema: Schema | None = field(default=None, init=False, repr=False, compare=False)

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
        self._check_lifecycle()
        self._check_definition()

    def _check_lifecycle(self) -> None:
        for name in HOOKS:
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ValidationError(name, value, "must be callable or None")
        given: Any = self.middleware
        if callable(given) or isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
            raise ValidationError("middleware", given, "must be a list of callables")
        middleware = tuple(given)
        for fn in middleware:
            if not callable(fn):
                raise ValidationError("middleware", fn, "must be callable")
        object.__setattr__(self, "middleware", middleware)
        if self.schema is not None:
            object.__setattr__(self, "input_schema", Schema(self.schema))

    def _check_definition(self) -> None:
        for name in ("title", "description"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationError(name, value, "must be a string or None")
        if not isinstance(self.private, bool):
            raise ValidationError("private", self.private, "must be True or False")
        if self.frequency is not None and self.cron is not None:
            raise ValidationError("frequency", self.frequency, "give frequency or cron, not both")
        frequency: Any = self.frequency
        if frequency is not None:
            object.__setattr__(self, "frequency", seconds("frequency", frequency, allow_zero=False))
        if self.cron is not None:
            object.__setattr__(self, "cron", Cron(self.cron).expression)

    @property
    def periodic(self) -> bool:
        """True for a worker with ``frequency`` or ``cron``: it ensures its schedule."""
        return self.frequency is not None or self.cron is not None

    def describe(self) -> dict[str, Any]:
        """The worker's definition for listings (``sup.workers()``, the CLI, the HTTP API)."""
        return {"name": self.name, "title": self.title, "description": self.description,
                "private": self.private, "queue": self.queue, "isolation": self.isolation,
                "frequency": self.frequency, "cron": self.cron}

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
