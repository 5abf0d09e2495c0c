"""Iterations (Webiny's ``response.continue``) and durable steps: the values and the rules a
running task meets, checked where it runs. Stdlib and the kernel only: a pool child imports it.

- ``return actors.Continue(options=None, delay=0)`` from ``execute``: the same task (same id)
  runs again ``delay`` seconds later as its next iteration, its metadata replaced by
  ``options`` when given. ``continued`` turns it into the attempt's outcome: ``Continued``, or
  a ``Raised`` when it cannot continue (a recurring task, bad options, or the iteration limit:
  type ``MaxIterationsExceeded``, which fails the task without a retry).
- ``ctx.step(key, fn, ...)``: ``check_step_key`` and ``step_value`` check what is stored.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .errors import ActorsError, ValidationError
from .models import Continued, Outcome, Raised, Task
from .spec import check_json, check_max_iterations, json_text, seconds

__all__ = [
    "DEFAULT_MAX_ITERATIONS",
    "MAX_ITERATIONS_EXCEEDED",
    "Continue",
    "StepWriter",
    "Steps",
    "check_max_iterations",
    "check_step_key",
    "continued",
    "effective_max_iterations",
    "max_iterations_exceeded",
    "step_value",
]

#: Iterations a task may run when neither it nor its worker sets ``max_iterations`` (as Webiny).
DEFAULT_MAX_ITERATIONS = 500
#: ``save(task_id, token, key, value)``: commit a step's JSON value, fenced by the attempt's
#: token; returns once it is durable, raises ``ActorsError`` (``StaleAttempt``...) otherwise.
StepWriter = Callable[[str, str, str, Any], None]
#: The ``Raised.type`` of the attempt that would exceed ``max_iterations`` (``on_max_iterations``).
MAX_ITERATIONS_EXCEEDED = "MaxIterationsExceeded"


@dataclass(frozen=True, init=False)
class Continue:
    """Returned from ``execute``: run this task again, as its next iteration.

    Args:
        options: the next iteration's metadata (a JSON dict), replacing the current one;
            None keeps the metadata as it is (``ctx.set_metadata`` included).
        delay: seconds (or a ``timedelta``) before the next iteration is due; 0: at once.

    The values are checked when the attempt ends: a bad one fails the attempt with a
    ``ValidationError`` naming the field (``options`` / ``delay``), as does a Continue
    from a recurring task.

    Example:
        >>> def execute(ctx, options, task):
        ...     cursor = options.get("cursor", 0)
        ...     if cursor < 3:
        ...         return Continue(options={"cursor": cursor + 1})
        ...     return {"done": cursor}
    """

    options: Any
    delay: Any

    def __init__(self, options: Any = None, delay: float | timedelta = 0) -> None:
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "delay", delay)


def effective_max_iterations(task: Task, worker_limit: int | None) -> int:
    """The task's own limit, else its worker's, else ``DEFAULT_MAX_ITERATIONS``."""
    if task.max_iterations is not None:
        return task.max_iterations
    return worker_limit if worker_limit is not None else DEFAULT_MAX_ITERATIONS


def max_iterations_exceeded(limit: int, iteration: int) -> Raised:
    """The outcome of iteration ``iteration`` asking for one more past ``max_iterations``."""
    return Raised(MAX_ITERATIONS_EXCEEDED,
                  f"max_iterations={limit} reached: iteration {iteration} returned actors.Continue")


def continued(value: Continue, task: Task, max_iterations: int) -> Outcome:
    """The outcome of an attempt of ``task`` that returned ``value``.

    ``Continued(metadata, delay)`` when the task may run again; otherwise a ``Raised``:
    ``ValidationError`` for a recurring task or bad ``options`` / ``delay``, and
    ``MaxIterationsExceeded`` (``max_iterations_exceeded``) when ``task.iteration`` is
    already ``max_iterations``.
    """
    try:
        if task.recurring:
            raise ValidationError("update_interval", task.update_interval,
                                  "a recurring task cannot return actors.Continue")
        options = None if value.options is None else check_json("options", value.options)
        delay = seconds("delay", value.delay, allow_zero=True) or 0.0
    except ValidationError as exc:
        return Raised("ValidationError", f"actors.Continue: {exc}")
    if task.iteration >= max_iterations:
        return max_iterations_exceeded(max_iterations, task.iteration)
    return Continued(options, delay)


def check_step_key(key: object) -> str:
    """A step key: a non-empty string (``ValidationError`` naming ``key`` otherwise)."""
    if not isinstance(key, str) or not key:
        raise ValidationError("key", key, "a step key must be a non-empty string")
    return key


def step_value(key: str, value: object) -> Any:
    """``value`` as JSON gives it back (what a replay returns), or ``ValidationError`` naming
    the step ``key``: a step's result must be JSON."""
    try:
        return json.loads(json_text(key, value))
    except ValidationError as exc:
        raise ValidationError(key, value, f"the result of step {key!r} is {exc.reason}") from None


class Steps:
    """The durable steps of one attempt (``ctx.step``): the stored results it was claimed with,
    and the writer that makes a new one durable before ``run`` returns it.

    Args:
        task_id / token: the attempt (the writer is fenced by ``token``).
        stored: the task's ``steps`` as claimed (they travel with the job: a replay is local).
        save: ``save(task_id, token, key, value)``, the executor's ``StepWriter``; returns once
            the value is committed, raises ``ActorsError`` when it is not (a stale attempt).
            None: ``run`` raises ``ActorsError`` for a step not stored yet.
    """

    def __init__(self, task_id: str, token: str, stored: dict[str, Any],
                 save: StepWriter | None) -> None:
        self._task_id = task_id
        self._token = token
        self._stored = dict(stored)
        self._save = save
        self._lock = threading.Lock()

    def run(self, key: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The stored value of step ``key``, or ``fn(*args, **kwargs)`` stored first (as JSON
        gives it back, so the first run and a replay return the same value).

        Raises:
            ValidationError: a bad key, or a result that is not JSON (named by the key; nothing stored).
            ActorsError: the value could not be stored (the attempt lost its lease, the store failed).
            Whatever ``fn`` raises (nothing stored).
        """
        check_step_key(key)
        if not callable(fn):
            raise ValidationError("fn", fn, "must be callable")
        with self._lock:
            if key in self._stored:
                return json.loads(json.dumps(self._stored[key]))
        value = step_value(key, fn(*args, **kwargs))
        if self._save is None:
            raise ActorsError("ctx.step: this context was built without a way to store steps")
        with self._lock:
            if key in self._stored:  # another thread of the task stored it meanwhile: first wins
                return json.loads(json.dumps(self._stored[key]))
            self._save(self._task_id, self._token, key, value)
            self._stored[key] = value
        return json.loads(json.dumps(value))
