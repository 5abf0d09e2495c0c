"""The parent side's bookkeeping, pure or nearly (stdlib and kernel only): what the parent
knows about the jobs it sent (``Entry``), a kill-after-grace (``Kill``), the decision of what
becomes of each job when a child dies (``settle``), exit texts (``describe_exit``), option
checks (``number``), and the answers to a child's ``ctx.create_task`` (``answer_create``),
``ctx.step`` (``answer_step``) and ``ctx.trigger`` / ``ctx.wait`` (``answer_call``).
"""

from __future__ import annotations

import math
import pickle
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ...errors import ActorsError, ValidationError
from ...messages import Job, JobDone
from ...models import Cancelled, Outcome
from ...triggers import TaskCalls

__all__ = ["Entry", "Kill", "OutcomeFor", "answer_call", "answer_create", "answer_step", "describe_exit", "number",
           "settle"]


def number(name: str, value: object, *, minimum: float, open_min: bool = False) -> float | None:
    """A finite number ``>= minimum`` (``> minimum`` when ``open_min``), or None.

    Raises:
        ValidationError: anything else, named ``name``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < minimum or (open_min and value == minimum):
        bound = f"{'>' if open_min else '>='} {minimum:g}"
        raise ValidationError(name, value, f"must be a number {bound} or None")
    return float(value)



OutcomeFor = Callable[[int | None], Outcome]
"""The outcome of a job the parent killed on purpose, given the child's exit code."""


@dataclass(eq=False)
class Entry:
    """A submitted job, until its ``JobDone`` is reported."""

    seq: int
    job: Job
    execute: Callable[..., Any]
    slot: Any = None  # the child it was sent to; None while unsent
    cancelled: bool = False
    timed: bool = False  # its deadline is set (from its JobStarted, or seen started by the watch)


@dataclass(order=True)
class Kill:
    """Kill ``slot`` at ``when`` (monotonic) if it still runs job ``seq``; it ends ``outcome``."""

    when: float
    seq: int
    slot: Any = field(compare=False)
    outcome: OutcomeFor = field(compare=False)


def settle(entries: Iterable[Entry], *, started: int, finished: int, doomed: dict[int, OutcomeFor],
           killed: bool, crash: Outcome, exitcode: int | None) -> tuple[list[JobDone], list[Entry]]:
    """Decide what becomes of a dead child's jobs: ``(their JobDone, the jobs to run again)``.

    Args:
        entries: the jobs sent to that child and not reported yet, in order.
        started: the sequence number of the last job the child started.
        finished: the sequence number of the last job it finished.
        doomed: jobs the parent killed it for, with their outcome.
        killed: the parent killed it (then the job running was innocent, unless doomed).
        crash: the outcome of the job that was running when it died on its own.
        exitcode: the child's exit code (negative: the signal).

    A cancelled job ends ``Cancelled``; a doomed one its outcome; the one running
    when the child died on its own ``crash``. The others run again: either they
    had not started, or they finished and their result died in the child's
    outbox (at-least-once), or the parent killed the child for another job.
    """
    ended: list[JobDone] = []
    rerun: list[Entry] = []
    for entry in entries:
        seq = entry.seq
        if entry.cancelled:
            outcome: Outcome = Cancelled()
        elif seq in doomed:
            outcome = doomed[seq](exitcode)
        elif seq == started and seq > finished and not killed:
            outcome = crash
        else:
            rerun.append(entry)
            continue
        ended.append(JobDone(entry.job.task.id, entry.job.token, outcome))
    return ended, rerun


def describe_exit(pid: int, exitcode: int | None) -> str:
    """``"the child process (pid 12) exited with code 3"`` / ``"... was killed by signal SIGKILL"``."""
    if exitcode is None:
        return f"the child process (pid {pid}) vanished"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return f"the child process (pid {pid}) was killed by signal {name}"
    return f"the child process (pid {pid}) exited with code {exitcode}"


# --- a child's ctx.create_task ------------------------------------------------------------


def answer_create(create: Callable[[str, dict[str, Any]], str] | None, reply: Callable[[tuple[Any, ...]], None],
                  request: int, parent_id: str, spec: dict[str, Any]) -> None:
    """Create the task a child asked for and send it ``("created", request, answer)``.

    Run on a helper thread (never the I/O loop's nor the supervisor actor's: ``create`` runs
    the worker's ``validate``, user code that may call the node). ``answer`` is ``("ok", id)``,
    ``("ValidationError", field, value, reason)`` or ``(error type name, message)``; the child
    raises it again (``child.created``).
    """
    def call() -> Any:
        if create is None:
            raise ActorsError("ctx.create_task: this executor was built without a Creator")
        return create(parent_id, spec)

    _answer(call, reply, request)


def answer_step(save: Callable[[str, str, str, Any], None] | None, reply: Callable[[tuple[Any, ...]], None],
                request: int, task_id: str, token: str, key: str, value: Any) -> None:
    """Store the step a child's ``ctx.step`` asked for and send it ``("created", request, answer)``
    once it is durable (``answer`` as in ``answer_create``; ``("ok", None)`` when stored). Run on a
    helper thread: the write waits for the store."""
    def call() -> None:
        if save is None:
            raise ActorsError("ctx.step: this executor was built without a StepWriter")
        save(task_id, token, key, value)

    _answer(call, reply, request)


def answer_call(calls: TaskCalls | None, reply: Callable[[tuple[Any, ...]], None], kind: str, request: int,
                *args: Any) -> None:
    """A child's ``ctx.trigger`` (``("trigger", request, parent id, specs)``) or ``ctx.wait``
    (``("look", request, task ids)``): call ``calls.trigger`` / ``calls.look`` and send
    ``("created", request, answer)`` as :func:`answer_create` does (a helper thread too)."""
    def call() -> Any:
        if calls is None:
            raise ActorsError(f"ctx.{kind}: this executor was built without TaskCalls")
        if kind == "trigger":
            return calls.trigger(*args)
        return calls.look(*args)

    _answer(call, reply, request)


def _answer(call: Callable[[], Any], reply: Callable[[tuple[Any, ...]], None], request: int) -> None:
    answer: tuple[Any, ...]
    try:
        answer = ("ok", call())
    except ValidationError as exc:
        answer = ("ValidationError", exc.field, _picklable(exc.value), exc.reason)
    except Exception as exc:
        answer = (type(exc).__name__, str(exc))
    reply(("created", request, answer))


def _picklable(value: object) -> object:
    try:
        pickle.dumps(value)
    except Exception:
        return repr(value)
    return value
