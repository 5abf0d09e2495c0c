"""What a running task sees: ``TaskContext``, and how an attempt's end becomes an ``Outcome``.

The attempt runner itself (hooks, middleware, ``catch_error``) is ``actors.attempt``.

Stdlib and the actors kernel only, so the same code runs in a child process, in
an executor thread and inline. A context never talks to the store: each call
becomes an ``ExecutorEvent`` handed to the ``emit`` callable it was built with,
and the executor carries the event to the worker actor (over a pipe, or
directly). The store applies them, fenced by the attempt's token. The one call that
waits for an answer, ``create_task``, goes to the ``create`` callable instead (the
executor's ``Creator``: a request to the parent process, or the node's create path).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .clock import SystemClock
from .errors import AbortTask, ActorsError, ValidationError
from .iterations import Steps, effective_max_iterations
from .messages import JobLog, JobMetadata, JobProgress
from .models import Outcome, Raised, Succeeded, Task
from .spec import SPEC_FIELDS, TaskSpec, build_task, check_json
from .tracing import capture
from .triggers import TaskCalls, Triggering

if TYPE_CHECKING:
    from .clock import Clock
    from .iterations import StepWriter
    from .messages import ExecutorEvent, Job

__all__ = ["TaskContext", "TaskLogger", "outcome_of", "raised"]

#: ``ctx.is_close_to_timeout()`` without an argument: this many seconds or fewer left.
CLOSE_TO_TIMEOUT = 5.0

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class TaskLogger:
    """A ``logging.Logger``-compatible logger whose records stay with one attempt.

    Each record becomes a ``JobLog(task_id, token, attempt, created, level, message)``
    event; nothing goes through the global ``logging`` machinery, so records of
    tasks running side by side never mix and nothing is left registered once the
    task ends. The message is formatted here (``msg % args``; ``exc_info`` and
    ``logger.exception`` append the traceback text).

    Args:
        name: shown as ``logger.name`` (``actors.task.<TASK_NAME>``).
        sink: ``sink(levelname, text)``, called for each record that passes ``level``.
        level: records below it are dropped (NOTSET keeps everything).

    Example:
        >>> records = []
        >>> log = TaskLogger("actors.task.DEMO", lambda level, text: records.append((level, text)))
        >>> log.info("fetched %d rows", 42)
        >>> records
        [('INFO', 'fetched 42 rows')]
    """

    def __init__(self, name: str, sink: Callable[[str, str], None], level: int = logging.NOTSET) -> None:
        self.name = name
        self.level = level
        self._sink = sink

    def setLevel(self, level: int | str) -> None:
        """Drop records below ``level`` (a number or a name such as ``"INFO"``)."""
        if isinstance(level, str):
            number = logging.getLevelName(level.upper())
            if not isinstance(number, int):
                raise ValueError(f"unknown logging level: {level!r}")
            level = number
        self.level = level

    def getEffectiveLevel(self) -> int:
        return self.level

    def isEnabledFor(self, level: int) -> bool:
        return level >= self.level

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.WARNING, msg, *args, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, **kwargs)

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        """An ERROR record with the traceback of the exception being handled."""
        self.log(logging.ERROR, msg, *args, exc_info=exc_info, **kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.CRITICAL, msg, *args, **kwargs)

    def log(self, level: int, msg: object, *args: object, exc_info: Any = None, stack_info: bool = False,
            stacklevel: int = 1, extra: Mapping[str, object] | None = None) -> None:
        """Record ``msg % args`` at ``level`` (``stacklevel`` and ``extra`` are accepted and ignored)."""
        if not isinstance(level, int) or isinstance(level, bool):
            raise TypeError(f"level must be an integer, got {level!r}")
        if level < self.level:
            return
        text = _format(msg, args)
        info = _exc_info(exc_info)
        if info is not None:
            text = text + "\n" + "".join(traceback.format_exception(*info)).rstrip("\n")
        if stack_info:
            stack = "".join(traceback.format_stack()).rstrip("\n")
            text = f"{text}\nStack (most recent call last):\n{stack}"
        self._sink(logging.getLevelName(level), text)


def _format(msg: object, args: tuple[object, ...]) -> str:
    text = str(msg)
    if not args:
        return text
    values: object = args
    if len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
        values = args[0]  # logging's "%(name)s" form
    try:
        return text % values
    except (TypeError, ValueError, KeyError):
        # logging would print a "--- Logging error ---" block; we keep the record instead.
        return f"{text} {' '.join(repr(a) for a in args)}"


def _exc_info(value: object) -> _ExcInfo | None:
    if not value:
        return None
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple) and len(value) == 3 and value[0] is not None:
        return value
    current = sys.exc_info()
    if current[0] is None or current[1] is None:
        return None
    return (current[0], current[1], current[2])


class TaskContext(Triggering):
    """The ``ctx`` a task worker's ``execute(ctx, options, task)`` receives.

    Identical in process, thread and inline isolation. Calls are reported through
    ``emit`` as ``JobProgress`` / ``JobMetadata`` / ``JobLog`` events, in call
    order, before the attempt's ``JobDone``; ``create_task`` waits for ``create``.
    A context is safe to use from threads the task starts.

    Args:
        job: the attempt being run.
        emit: receives each event (must be thread-safe).
        create: stores a chained task, ``create(parent_id, spec) -> id`` (the executor's
            ``Creator``; thread-safe). Without it ``create_task`` raises ``ActorsError``.
        calls: the node's ``TaskCalls`` for ``trigger`` / ``wait`` and kin (``actors.triggers``);
            without it they raise ``ActorsError``.
        aborted: set by the executor when the attempt is cancelled or ran out of
            time; ``is_aborted()`` reads it. A fresh unset event when omitted.
        started: when the attempt started, in ``clock`` time (default: now).
        clock: where times are read (``SystemClock`` when omitted).
        step: commits a durable step (the executor's ``StepWriter``; thread-safe). Without it
            ``step`` raises ``ActorsError`` for a step not stored yet.

    Example:
        >>> def execute(ctx, options, task):
        ...     rows = options.get("rows", [])
        ...     for done, row in enumerate(rows, start=1):
        ...         if ctx.is_aborted():
        ...             return None
        ...         ctx.progress(100 * done / len(rows))
        ...     ctx.log.info("handled %d rows", len(rows))
        ...     return {"rows": len(rows)}
    """

    def __init__(self, job: Job, emit: Callable[[ExecutorEvent], None], *,
                 create: Callable[[str, dict[str, Any]], str] | None = None,
                 aborted: threading.Event | None = None, started: float | None = None,
                 clock: Clock | None = None, step: StepWriter | None = None,
                 calls: TaskCalls | None = None) -> None:
        self._job = job
        self._task = job.task
        self._emit = emit
        self._create = create
        self._aborted = aborted if aborted is not None else threading.Event()
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._started = self._clock.now() if started is None else started
        self._lock = threading.Lock()
        self._log: TaskLogger | None = None
        self._steps = Steps(job.task.id, job.token, job.task.steps, step)
        self.init: Any = None
        """What the worker's ``init(ctx, options)`` returned for this attempt (None without one)."""
        self._calls = calls
        self._trigger_count = 0

    @property
    def task(self) -> Task:
        """The task snapshot; its ``metadata`` includes what ``set_metadata`` merged."""
        return self._task

    @property
    def attempt(self) -> int:
        """1 for the first attempt, 2 for the first retry, and so on."""
        return self._job.attempt

    @property
    def iteration(self) -> int:
        """1 for the task's first run; each ``actors.Continue`` adds one (attempts start again)."""
        return self._task.iteration

    @property
    def max_iterations(self) -> int:
        """The most iterations this task may run (its own, else its worker's, else 500)."""
        return effective_max_iterations(self._task, self._job.max_iterations)

    def step(self, key: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` once for this task and return its result, kept durably.

        The JSON result is stored on the task (``task.steps[key]``) before this returns; when
        the task runs again (a retry, a crash, a reclaim) the stored value is returned and
        ``fn`` is not called. Keys are non-empty strings, unique within the task; steps are
        cleared when the task continues (``actors.Continue``). The value returned is the one
        JSON gives back (tuples become lists), the same on the first run and on a replay.

        Raises:
            ValidationError: an empty key, or a result that is not JSON (named by the key);
                nothing is stored.
            ActorsError: the step could not be stored (this attempt lost its lease, or the
                store is down): the attempt fails.
        """
        return self._steps.run(key, fn, args, kwargs)

    @property
    def metadata(self) -> dict[str, Any]:
        """A copy of the task's metadata as this attempt sees it (after ``set_metadata``)."""
        return dict(self._task.metadata)

    @property
    def timeout(self) -> float | None:
        """Seconds this attempt may run, or None."""
        return self._job.timeout

    def progress(self, value: float) -> None:
        """Report progress, a number from 0 to 100 (persisted, visible to ``get_task``).

        Raises:
            ValidationError: ``value`` is not a finite number in [0, 100].
        """
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("progress", value, "must be a number from 0 to 100")
        number = float(value)
        if not math.isfinite(number) or not 0.0 <= number <= 100.0:
            raise ValidationError("progress", value, "must be a number from 0 to 100")
        self._emit(JobProgress(self._task.id, self._job.token, number))

    def set_metadata(self, **values: Any) -> None:
        """Merge ``values`` into the task's metadata (persisted; shallow, like ``dict.update``).

        Raises:
            ValidationError: a value that does not round-trip through JSON, named by key.
        """
        checked = check_json("metadata", values)
        if not checked:
            return
        with self._lock:
            self._task = dataclasses.replace(self._task, metadata={**self._task.metadata, **checked})
            self._emit(JobMetadata(self._task.id, self._job.token, checked))

    def create_task(self, name: str, /, **kwargs: Any) -> str:
        """Create a chained task (``create_task``'s keyword arguments) and return its id.

        The task is in the store when this returns (``sup.wait(id)`` finds it at once). It
        goes through the same rules as ``sup.create_task``: the field checks, then, where
        the node has its worker registered, that worker's default ``priority`` and
        ``queue`` and its ``validate``. The fields are checked here first, so a bad one
        raises without a round trip.

        Raises:
            ValidationError: an unknown keyword or a bad value (named with the value), or the
                worker's ``validate`` refused the task; nothing is stored.
            ActorsError: the task could not be stored (``StoreError``: the store is down).
        """
        spec = self._spec(name, kwargs)
        if self._create is None:
            raise ActorsError("ctx.create_task: this context was built without a way to create tasks")
        return self._create(self._task.id, spec)

    def _spec(self, name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``fields`` checked (as ``create_task`` would, without a round trip) as the dict a
        ``Creator`` / ``TaskCalls.trigger`` takes: ``create_task``'s keywords plus ``name``."""
        for key, value in fields.items():
            if key not in SPEC_FIELDS or key == "name":
                raise ValidationError(key, value, "unknown field")
        task_id = fields.get("id")
        if task_id is not None and (not isinstance(task_id, str) or not task_id):
            raise ValidationError("id", task_id, "must be a non-empty string")
        task = build_task(TaskSpec(name=name, **fields), task_id=task_id or "-", now=self._clock.now())
        spec: dict[str, Any] = {**fields, "name": name}
        if "tags" in spec:
            spec["tags"] = list(task.tags)  # an iterator would arrive empty
        if spec.get("metadata") is not None:
            spec["metadata"] = dict(task.metadata)
        if task.trace is not None:
            spec["trace"] = task.trace
        elif (trace := capture()) is not None:  # this attempt's span: a pool child's create travels
            spec["trace"] = trace
        return spec

    def is_aborted(self) -> bool:
        """True once the attempt is cancelled or out of time: return as soon as you can."""
        return self._aborted.is_set()

    def remaining_seconds(self) -> float | None:
        """Seconds left before the attempt's timeout (never negative), or None without one."""
        timeout = self._job.timeout
        if timeout is None:
            return None
        return max(0.0, self._started + timeout - self._clock.now())

    def is_close_to_timeout(self, seconds: float = CLOSE_TO_TIMEOUT) -> bool:
        """True when at most ``seconds`` remain before the timeout (False without one)."""
        remaining = self.remaining_seconds()
        return remaining is not None and remaining <= seconds

    @property
    def log(self) -> TaskLogger:
        """A logger whose records are kept with this attempt (see ``TaskLogger``)."""
        if self._log is None:
            self._log = TaskLogger(f"actors.task.{self._task.name}", self._record)
        return self._log

    def _record(self, level: str, message: str) -> None:
        job = self._job
        self._emit(JobLog(self._task.id, job.token, job.attempt, self._clock.now(), level, message,
                          self._task.iteration))


# --- an attempt's end as an Outcome ---------------------------------------------------


def raised(exc: BaseException, *, skip_frames: int = 0) -> Raised:
    """``Raised(type name, message, traceback text)`` for ``exc``; an ``AbortTask`` is final.

    ``skip_frames`` drops that many outer frames (the runner's own) from the text.
    """
    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not lose the outcome
        message = f"<unprintable {type(exc).__name__}>"
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    return Raised(type(exc).__name__, message, text, final=isinstance(exc, AbortTask))


def outcome_of(value: object) -> Outcome:
    """``Succeeded`` for a JSON-serialisable ``value``, else ``Raised``.

    The result is what JSON gives back (tuples become lists), so every store and
    executor keeps the same value. A dict with ``"nextInterval"`` (milliseconds,
    a finite number > 0) sets ``Succeeded.next_interval`` in seconds; any other
    ``nextInterval`` (but None) is an error, as in ElizaOS.
    """
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        return Raised("TypeError", f"result is not JSON-serialisable: {exc}")
    result = json.loads(text)
    next_interval = None
    if isinstance(result, dict) and result.get("nextInterval") is not None:
        ms = result["nextInterval"]
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not math.isfinite(ms) or ms <= 0:
            return Raised("ValueError", "TASK_ADAPTIVE_INTERVAL_INVALID: nextInterval must be a finite "
                                        f"number of milliseconds > 0, got {ms!r}")
        next_interval = ms / 1000.0
    return Succeeded(result, next_interval)
