"""The worker a drain registers: a plain ``TaskWorker``, so a drain row gets the task lifecycle
(hooks, middleware, ``catch_error``, schema, the node's ``sup.use`` / ``sup.on``) like any task.

- :func:`check_worker_options` — what a caller may pass through as ``worker_options``:
  any ``TaskWorker`` field except the ones the drain owns.
- :func:`drain_worker` — the ``TaskWorker`` itself, thread-isolated (a drain works on
  in-process objects).
- :func:`check_interval` — a drain's interval (seconds > 0).
- :func:`call_drain` — calls ``on_drain(supervisor)``, or ``on_drain(supervisor, ctx=ctx)``
  when the function has a parameter named ``ctx`` (so it can use ``ctx.step`` / ``ctx.log``);
  older one-argument drain functions keep working.

Stdlib and the kernel only (no pykka): ``BatchQueue`` checks its options with it at construction.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ValidationError
from ..spec import seconds
from ..workers import TaskWorker

__all__ = ["OWNED", "call_drain", "check_interval", "check_worker_options", "drain_worker"]

#: ``TaskWorker`` fields a drain sets itself (``frequency`` / ``cron``: the drain row is its own
#: schedule; a periodic worker would add a second one).
OWNED = ("name", "execute", "isolation", "frequency", "cron")

_FIELDS = frozenset(f.name for f in dataclasses.fields(TaskWorker) if f.init)


def check_worker_options(options: Mapping[str, Any] | None, *, registers: bool = True) -> dict[str, Any]:
    """``options`` as a dict of ``TaskWorker`` fields to forward (empty for None).

    Args:
        registers: False when the caller registers no worker (``skip_register_worker``):
            options then have nowhere to go and are refused.

    Raises:
        ValidationError: ``worker_options`` is not a mapping, names a field ``TaskWorker``
            does not have or one in ``OWNED``, is given with no worker to register, or holds
            a value ``TaskWorker`` refuses (that field named, with its value).
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValidationError("worker_options", options, "must be a mapping of TaskWorker fields")
    given = dict(options)
    for key in given:
        if key in OWNED:
            raise ValidationError("worker_options", key, "is set by the drain itself: leave it out")
        if key not in _FIELDS:
            raise ValidationError("worker_options", key, "is not a TaskWorker field")
    if given and not registers:
        raise ValidationError("worker_options", given, "no worker is registered (skip_register_worker)")
    drain_worker("worker_options", _never, given)  # the values, checked by TaskWorker itself
    return given


def drain_worker(name: str, execute: Callable[..., Any], options: Mapping[str, Any]) -> TaskWorker:
    """The thread-isolated ``TaskWorker`` serving a drain's rows, with ``options`` forwarded."""
    return TaskWorker(name, execute, isolation="thread", **options)


def call_drain(on_drain: Callable[..., Any], supervisor: Any, ctx: Any) -> Any:
    """``on_drain(supervisor, ctx=ctx)`` if it has a ``ctx`` parameter, else ``on_drain(supervisor)``."""
    if _takes_ctx(on_drain):
        return on_drain(supervisor, ctx=ctx)
    return on_drain(supervisor)


def _takes_ctx(fn: Callable[..., Any]) -> bool:
    try:
        parameter = inspect.signature(fn).parameters.get("ctx")
    except (TypeError, ValueError):  # a builtin without a signature: the one-argument form
        return False
    return parameter is not None and parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                        inspect.Parameter.KEYWORD_ONLY)


def _never(ctx: Any, options: Any, task: Any) -> None:  # pragma: no cover - never registered
    raise AssertionError("the probe worker of check_worker_options never runs")


def check_interval(field: str, value: object) -> float:
    """A drain's interval: seconds (a number or a ``timedelta``) > 0, else ``ValidationError``
    naming ``field`` (``drain_interval``, ``idle_interval``, ...)."""
    number = seconds(field, value, allow_zero=False)
    if number is None:
        raise ValidationError(field, value, "must be a number of seconds > 0")
    return number
