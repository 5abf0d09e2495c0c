"""A node's global hooks, its worker listing and periodic workers: the handle's methods
(``HookMethods``, a mixin of ``Supervisor``), their messages, and the supervisor's side
(``Plans``: what each worker's attempts run; ``hook_handlers``).

``sup.use(fn)`` / ``sup.on(event, fn)`` ask the supervisor actor, which keeps one
``GlobalHooks`` and rebuilds a worker's ``Lifecycle`` (``actors.attempt.plan``) when it hands
out the next job: attempts claimed after the call run the new hooks, wherever they run (a pool
child gets the new ``Lifecycle`` cloudpickled with its next batch, as ``execute`` travels).

A periodic worker (``TaskWorker(frequency=...)`` / ``cron=``) makes sure, when it is
registered, that the schedule keyed by its name exists: ``TaskStore.put_schedule(...,
if_absent=True)`` inserts it only when no schedule has that key (one row however many nodes
register it, and a restart keeps the row and its next fire time); a schedule whose period or
cron differs from the worker's is replaced (the definition changed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..attempt import GlobalHooks, Lifecycle, plan
from .maintenance import build_schedule

if TYPE_CHECKING:
    from ..clock import Clock
    from ..models import Schedule
    from ..workers import TaskWorker

__all__ = ["AddHook", "EnsureSchedule", "HookMethods", "Plans", "hook_handlers"]


class AddHook(NamedTuple):
    """Add a global hook: ``event`` one of ``attempt.EVENTS`` or ``"middleware"`` (checked)."""

    event: str
    fn: Callable[..., Any]


class EnsureSchedule(NamedTuple):
    """Insert ``schedule`` unless its key exists with the same period (reply: the stored one)."""

    schedule: Schedule


class Plans:
    """What the executors run per worker (``plan``), cached by worker; the node's global hooks."""

    def __init__(self) -> None:
        self.hooks = GlobalHooks()
        self._cache: dict[str, tuple[TaskWorker, Callable[..., Any] | Lifecycle]] = {}

    def of(self, worker: TaskWorker) -> Callable[..., Any]:
        """The runnable of ``worker``'s attempts (the same object until a hook or the worker
        changes: a pool child is sent it once)."""
        cached = self._cache.get(worker.name)
        if cached is None or cached[0] is not worker:
            cached = self._cache[worker.name] = (worker, plan(worker, self.hooks))
        return cached[1]

    def add(self, event: str, fn: Callable[..., Any]) -> None:
        """Add a global hook (``ValidationError`` for a bad event or fn); later attempts run it."""
        self.hooks = self.hooks.add(event, fn)
        self._cache.clear()


class HookMethods:
    """``Supervisor``'s global hooks (``use``, ``on``) and worker listing (``workers``)."""

    _ask: Callable[..., Any]  # the handle's: one message to the supervisor actor, its reply
    _task_workers: dict[str, TaskWorker]
    clock: Clock

    def use(self, middleware: Callable[..., Any]) -> None:
        """Add a global middleware ``fn(ctx, options, call_next)`` for every worker's tasks: it
        runs inside the worker's own middleware, for attempts that start after this call.

        Raises:
            ValidationError: ``middleware`` is not callable.
        """
        GlobalHooks().add("middleware", middleware)  # checked here: bad input never reaches the actor
        self._ask(AddHook("middleware", middleware))

    def on(self, event: str, fn: Callable[..., Any]) -> None:
        """Add a global hook for every worker's tasks, run after the worker's own, for attempts
        that start after this call: ``"start"`` ``(ctx, options)``, ``"success"`` ``(ctx,
        options, result)``, ``"failure"`` ``(ctx, options, error)``, ``"complete"`` ``(ctx,
        options, outcome)``, ``"abort"`` ``(ctx, options)``.

        Raises:
            ValidationError: an unknown ``event`` or a ``fn`` that is not callable.
        """
        GlobalHooks().add(event, fn)
        self._ask(AddHook(event, fn))

    def workers(self, *, private: bool = True) -> list[dict[str, Any]]:
        """The workers registered on this node, by name: ``TaskWorker.describe()`` (name, title,
        description, private, queue, isolation, frequency, cron). ``private=False`` leaves the
        private ones out (what public listings show)."""
        return [worker.describe() for name, worker in sorted(self._task_workers.items())
                if private or not worker.private]

    def _ensure_periodic(self, worker: TaskWorker) -> None:
        """A periodic worker's schedule, keyed by its name, exists once registered."""
        if worker.periodic:
            built = build_schedule(worker.name, cron=worker.cron, every=worker.frequency, key=worker.name,
                                   fields={}, now=self.clock.now())
            self._ask(EnsureSchedule(built))


class _Supervises(Protocol):
    _store: Any
    _plans: Plans

    def _on_schedules_changed(self) -> None: ...


def hook_handlers(actor: _Supervises) -> dict[type, Callable[[Any], Any]]:
    """The supervisor actor's handlers for the hook and periodic messages."""

    def ensure(message: EnsureSchedule) -> Schedule:
        wanted = message.schedule
        stored: Schedule = actor._store.put_schedule(wanted, if_absent=True)
        if (stored.cron, stored.every) != (wanted.cron, wanted.every):
            stored = actor._store.put_schedule(wanted)  # the worker's definition changed
        actor._on_schedules_changed()
        return stored

    return {AddHook: lambda m: actor._plans.add(m.event, m.fn), EnsureSchedule: ensure}
