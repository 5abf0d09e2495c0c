"""Running one attempt: ``execute`` inside its worker's hooks and middleware (``run_attempt``).

Stdlib and the actors kernel only: the same code runs in a pool child, in an executor thread
and inline. The executors are given, per task name, what to run: the worker's plain
``execute`` (a worker without hooks, schema or global hooks: nothing more is shipped or
called), or a ``Lifecycle`` (built by :func:`plan`), one picklable object holding execute,
the worker's hooks, its retry policy and schema, and the node's global hooks. A pool child
gets it cloudpickled with the batch, as it got ``execute`` before.

The order of one attempt (Trigger.dev's, the API contract's table)::

    schema.parse → init → on_start → middleware… → execute
      → catch_error (the attempt raised)
      → on_success | on_failure (FAILED for good) | on_abort (cancelled) | on_max_iterations
      → on_complete (the task's final end) → cleanup (always)

The worker's hook runs first, then the node's global ones (``sup.on``); the worker's
middleware wraps the global ones (``sup.use``), outermost first. An exception in ``init``,
the schema or a middleware fails the attempt as one in ``execute`` does; one in a hook
(``on_*``, ``cleanup``, ``catch_error``) is logged with the attempt (a task log line and the
``actors.hooks`` logger) and never changes the outcome. "For good" is the supervisor's own rule
(``lifecycle.is_final``), asked with the outcome the attempt sends back.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .context import outcome_of, raised
from .errors import AbortTask, ActorsError, ValidationError
from .iterations import MAX_ITERATIONS_EXCEEDED, Continue, continued
from .lifecycle import is_final
from .models import Cancelled, Raised, Succeeded
from .tracing import start_attempt
from .triggers import Suspend
from .workers import HOOKS

if TYPE_CHECKING:
    from .context import TaskContext
    from .models import Outcome
    from .retry import Retry
    from .schema import Schema
    from .workers import TaskWorker

__all__ = ["EVENTS", "MAX_ITERATIONS_EXCEEDED", "GlobalHooks", "Lifecycle", "plan", "run_attempt"]

log = logging.getLogger("actors.hooks")

#: The events of ``sup.on(event, fn)``.
EVENTS = ("start", "success", "failure", "complete", "abort")

_Reason = Callable[[], "Outcome | None"]


@dataclass(frozen=True)
class GlobalHooks:
    """A node's global hooks: ``sup.use`` middleware and ``sup.on`` handlers, in call order."""

    middleware: tuple[Callable[..., Any], ...] = ()
    handlers: tuple[tuple[str, Callable[..., Any]], ...] = ()

    def add(self, event: str, fn: Callable[..., Any]) -> GlobalHooks:
        """These hooks and ``fn`` (``event`` ``"middleware"`` for ``sup.use``).

        Raises:
            ValidationError: ``event`` is not one of ``EVENTS`` (or ``"middleware"``), or ``fn``
                is not callable.
        """
        if not callable(fn):
            raise ValidationError("fn", fn, "must be callable")
        if event == "middleware":
            return replace(self, middleware=(*self.middleware, fn))
        if event not in EVENTS:
            raise ValidationError("event", event, f"must be one of {', '.join(EVENTS)}")
        return replace(self, handlers=(*self.handlers, (event, fn)))

    def __bool__(self) -> bool:
        return bool(self.middleware or self.handlers)


@dataclass(frozen=True)
class Lifecycle:
    """What one worker's attempt runs, hooks included (shipped to a pool child as one object)."""

    execute: Callable[..., Any]
    name: str
    hooks: dict[str, Callable[..., Any]] = field(default_factory=dict)
    middleware: tuple[Callable[..., Any], ...] = ()
    retry: Retry | None = None
    schema: Schema | None = None
    handlers: tuple[tuple[str, Callable[..., Any]], ...] = ()

    def __call__(self, ctx: TaskContext, options: Any, task: Any) -> Any:
        """The bare ``execute`` (no hooks): for code that calls a worker's function directly;
        the executors run a ``Lifecycle`` with :func:`run_attempt`."""
        return self.execute(ctx, options, task)

    def handlers_of(self, event: str) -> list[tuple[str, Callable[..., Any]]]:
        """The worker's ``on_<event>`` hook, then the global ones, named for the log."""
        own = self.hooks.get(f"on_{event}")
        found = [(f"{self.name}.on_{event}", own)] if own is not None else []
        return found + [(f"global on({event!r})", fn) for kind, fn in self.handlers if kind == event]


def plan(worker: TaskWorker, hooks: GlobalHooks | None = None) -> Callable[..., Any] | Lifecycle:
    """What the executors run for ``worker``'s tasks: its ``execute`` when it has no hooks,
    middleware or schema and the node no global hooks, else a ``Lifecycle``."""
    own = {name: getattr(worker, name) for name in HOOKS if getattr(worker, name) is not None}
    schema = worker.input_schema
    hooks = hooks or GlobalHooks()
    if not own and not worker.middleware and schema is None and not hooks:
        return worker.execute
    return Lifecycle(worker.execute, worker.name, own, (*worker.middleware, *hooks.middleware), worker.retry,
                     schema, hooks.handlers)


def run_attempt(runnable: Callable[..., Any] | Lifecycle, ctx: TaskContext, *,
                reason: _Reason | None = None) -> Outcome:
    """Run one attempt of ``ctx.task`` and turn what happens into an ``Outcome``.

    ``runnable`` is a plain ``execute(ctx, options, task)`` or a ``Lifecycle`` (see the module
    docstring for the order). ``options`` is a copy of the task's metadata (a schema's model
    instance with a model). A coroutine (``async def``) is run to completion with
    ``asyncio.run``. Exceptions (``SystemExit`` included) become ``Raised`` (``AbortTask``:
    final); the return value goes through ``returned``. ``KeyboardInterrupt`` propagates. A
    ``ctx.wait`` on unfinished tasks ends it ``Waiting`` (``triggers.Suspend``).

    Args:
        reason: the executor's verdict that replaces the attempt's own (``Cancelled`` once
            aborted, ``TimedOut``), asked after execute returns; the hooks see it.

    With OpenTelemetry configured in this process, the attempt runs inside its span
    (``tracing.start_attempt``: a child of the creator's span when the task carries a trace),
    ended with the outcome; otherwise nothing more happens.
    """
    span = start_attempt(ctx.task, ctx.attempt)
    if span is None:
        return _run(runnable, ctx, reason)
    outcome: Outcome | None = None
    try:
        outcome = _run(runnable, ctx, reason)
    finally:
        span.end(outcome)
    return outcome


def _run(runnable: Callable[..., Any] | Lifecycle, ctx: TaskContext, reason: _Reason | None) -> Outcome:
    if not isinstance(runnable, Lifecycle):
        try:
            value = _settled(runnable(ctx, ctx.metadata, ctx.task))
        except Suspend as suspended:  # a wait on unfinished tasks: the attempt stops (actors.triggers)
            return suspended.outcome
        except (Exception, SystemExit) as exc:
            return (reason() if reason is not None else None) or raised(exc, skip_frames=1)
        return (reason() if reason is not None else None) or returned(value, ctx)
    return _Attempt(runnable, ctx).run(reason)


def returned(value: Any, ctx: TaskContext) -> Outcome:
    """What execute's return value means: an ``actors.Continue`` goes through
    ``iterations.continued`` (the job's ``max_iterations``), anything else through ``outcome_of``."""
    if isinstance(value, Continue):
        return continued(value, ctx.task, ctx.max_iterations)
    return outcome_of(value)


def _settled(value: Any) -> Any:
    """``value``, or what it resolves to when it is a coroutine (``asyncio.run``). Inside a running
    event loop (an ``async def`` middleware's ``await call_next()``) the coroutine is returned for
    the caller to await."""
    if inspect.iscoroutine(value):
        import asyncio  # here, not at the top: a child that runs no coroutine never loads it

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(value)
    return value


class _Attempt:
    """One attempt of a ``Lifecycle``: the options, the exception, the outcome."""

    def __init__(self, plan: Lifecycle, ctx: TaskContext) -> None:
        self.plan = plan
        self.ctx = ctx
        self.options: Any = ctx.metadata
        self.error: BaseException | None = None

    def run(self, reason: _Reason | None) -> Outcome:
        plan, ctx = self.plan, self.ctx
        try:
            outcome = self._execute()
            ctx.is_aborted()  # a pool child reads the parent's messages here: an abort waiting is seen
            verdict = reason() if reason is not None else None
            outcome = verdict or self._directive(outcome)
            final = is_final(ctx.task, outcome, worker_retry=plan.retry)
            self._ended(outcome, final)
        finally:
            cleanup = plan.hooks.get("cleanup")
            if cleanup is not None:
                self._hook(f"{plan.name}.cleanup", cleanup)
        return outcome

    def _execute(self) -> Outcome:
        plan, ctx = self.plan, self.ctx
        try:
            if plan.schema is not None:
                self.options = plan.schema.parse(self.options)
            init = plan.hooks.get("init")
            if init is not None:
                ctx.init = _settled(init(ctx, self.options))
            for name, fn in self.plan.handlers_of("start"):
                self._hook(name, fn)
            value = self._chain(0)
        except Suspend as suspended:  # not an end: no catch_error, no end hooks (see run)
            return suspended.outcome
        except (Exception, SystemExit) as exc:
            self.error = exc
            return raised(exc)
        return returned(value, ctx)

    def _chain(self, index: int) -> Any:
        """Middleware ``index`` around the rest (``call_next()``), execute at the end. An
        ``async def`` middleware gets an async ``call_next`` (``await call_next()``)."""
        plan, ctx = self.plan, self.ctx
        if index == len(plan.middleware):
            return _settled(plan.execute(ctx, self.options, ctx.task))
        middleware = plan.middleware[index]
        if inspect.iscoroutinefunction(middleware):
            async def call_next() -> Any:
                value = self._chain(index + 1)
                return await value if inspect.isawaitable(value) else value

            return _settled(middleware(ctx, self.options, call_next))
        return _settled(middleware(ctx, self.options, lambda: self._chain(index + 1)))

    def _directive(self, outcome: Outcome) -> Outcome:
        """``catch_error``'s answer carried on the ``Raised`` (an ``AbortTask`` is not asked)."""
        catch = self.plan.hooks.get("catch_error")
        if catch is None or not isinstance(outcome, Raised) or outcome.final or isinstance(self.error, AbortTask):
            return outcome
        answer = self._hook(f"{self.plan.name}.catch_error", catch, self._error(outcome))
        if answer is None:
            return outcome
        if answer is False:
            return replace(outcome, final=True)
        if isinstance(answer, timedelta):
            answer = answer.total_seconds()
        if isinstance(answer, (int, float)) and not isinstance(answer, bool) and math.isfinite(answer) and answer >= 0:
            return replace(outcome, retry_in=float(answer))
        self._report(f"{self.plan.name}.catch_error", f"returned {answer!r}: not None, False or seconds >= 0; "
                                                      "the retry policy decides")
        return outcome

    def _ended(self, outcome: Outcome, final: bool) -> None:
        plan = self.plan
        if isinstance(outcome, Succeeded):
            events = ["success"]
        elif isinstance(outcome, Cancelled):
            events = ["abort"]
        else:
            events = ["failure"] if final else []
            if isinstance(outcome, Raised) and outcome.type == MAX_ITERATIONS_EXCEEDED:
                own = plan.hooks.get("on_max_iterations")
                if own is not None:
                    self._hook(f"{plan.name}.on_max_iterations", own)
        if final:
            events.append("complete")
        for event in events:
            extra: tuple[Any, ...] = ()
            if event == "success" and isinstance(outcome, Succeeded):
                extra = (outcome.result,)
            elif event == "failure":
                extra = (self._error(outcome),)
            elif event == "complete":
                extra = (outcome,)
            for name, fn in plan.handlers_of(event):
                self._hook(name, fn, *extra)

    def _error(self, outcome: Outcome) -> BaseException:
        """The exception the attempt raised, or an ``ActorsError`` describing its outcome."""
        if self.error is not None and isinstance(outcome, Raised) and outcome.type == type(self.error).__name__:
            return self.error
        return ActorsError(outcome.describe() if not isinstance(outcome, Succeeded) else "succeeded")

    def _hook(self, name: str, fn: Callable[..., Any], *extra: Any) -> Any:
        """Call a hook ``fn(ctx, options, *extra)``; an exception is logged, never raised."""
        try:
            return _settled(fn(self.ctx, self.options, *extra))
        except (Exception, SystemExit) as exc:
            self._report(name, f"raised {type(exc).__name__}: {exc}", exc)
            return None

    def _report(self, name: str, text: str, exc: BaseException | None = None) -> None:
        task = self.ctx.task
        log.error("task %s (%s) attempt %d: hook %s %s", task.id, task.name, self.ctx.attempt, name, text,
                  exc_info=exc)
        with contextlib.suppress(Exception):  # the task log line is best effort: the outcome stays
            self.ctx.log.error("hook %s %s", name, text, exc_info=exc)
