"""``drain`` and ``advance``: run what is due on a test node, and re-raise what failed.

Modelled on Dramatiq's ``StubBroker.join(fail_fast=True)`` and Oban.Testing's
``drain_queue``: the real machinery runs (the store, the supervisor, the worker
actors; tasks inline), and a test reads one call instead of a loop of ``tick`` /
``join``. Both need a node started on a ``ManualClock`` (``inline_supervisor`` or the
pytest plugin's ``supervisor`` fixture).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, overload

from ..clock import ManualClock, to_timestamp
from ..errors import TaskFailed, Timeout, ValidationError
from ..models import Task, TaskStatus

if TYPE_CHECKING:
    from ..runtime.handle import Supervisor

__all__ = ["Drained", "advance", "drain"]

#: What a round compares of a task: its status, attempts and failures.
_State = tuple[TaskStatus, int, int]


def _state(task: Task) -> _State:
    return (task.status, task.attempts, task.failure_count)


@dataclass(frozen=True)
class Drained:
    """What one ``drain`` ran.

    ``runs``: attempts started during the drain (recurring runs included);
    ``succeeded``: tasks that ended SUCCEEDED; ``failed``: the failures seen, in the
    order seen (tasks that ended FAILED, and recurring tasks whose run failed), as
    snapshots taken then; ``rounds``: the ``tick`` / ``join`` rounds it took.
    """

    runs: int = 0
    succeeded: int = 0
    failed: tuple[Task, ...] = ()
    rounds: int = 0


#: What each node looked like at its last drain (or when ``inline_supervisor`` started it):
#: a drain reports what changed since then, whether it ran inside the drain or before it
#: (an inline node starts a task as soon as it is created).
_SEEN: weakref.WeakKeyDictionary[Supervisor, dict[str, Task]] = weakref.WeakKeyDictionary()


def track(sup: Supervisor) -> None:
    """Take ``sup``'s tasks now as what its first ``drain`` compares with (a node whose
    first drain finds it untracked compares with what it holds then)."""
    _SEEN[sup] = _snapshot(sup)


def _manual_clock(sup: Supervisor) -> ManualClock:
    clock = sup.clock
    if not isinstance(clock, ManualClock):
        raise ValidationError("clock", clock, "drain and advance need a node started on a ManualClock")
    return clock


def _snapshot(sup: Supervisor) -> dict[str, Task]:
    return {task.id: task for task in sup.get_tasks()}


def _failures(before: dict[str, Task], after: dict[str, Task]) -> list[Task]:
    """Tasks that ended FAILED between the two looks, or whose recurring run failed."""
    failed = []
    for task_id, task in after.items():
        old = before.get(task_id)
        newly_failed = task.status is TaskStatus.FAILED and (  # a retried task may fail again
            old is None or old.status is not TaskStatus.FAILED or old.finished_at != task.finished_at)
        run_failed = task.recurring and task.failure_count > (old.failure_count if old else 0)
        if newly_failed or run_failed:
            failed.append(task)
    return failed


def _next_scheduled(sup: Supervisor, now: float) -> float | None:
    """The earliest future run of a PENDING one-time task this node has a worker for."""
    times = [to_timestamp(task.run_at) for task in sup.get_tasks(status="pending")
             if not task.recurring and task.run_at is not None and sup.get_task_worker(task.name) is not None]
    later = [t for t in times if t > now]
    return min(later) if later else None


def drain(sup: Supervisor, *, fail_fast: bool = True, with_scheduled: bool = False,
          max_rounds: int = 1_000, timeout: float = 30.0) -> Drained:
    """Run everything due on ``sup`` until nothing due is left to run, and report what
    happened since the node's last drain (or its start by ``inline_supervisor``).

    Each round is ``sup.tick()`` then ``sup.join()``; the drain ends when a round
    changes nothing (so chained tasks created by a task run in the same drain). Time
    does not move: a retry waiting for its back-off, a delayed task and a recurring
    task's next run stay PENDING, unless ``with_scheduled`` is true: then the clock
    jumps to each one-time task's next run (retries and delayed tasks run to their
    end; recurring tasks never make it jump).

    Args:
        fail_fast: raise the first failure seen (a task that ended FAILED, or a
            recurring run that failed) instead of carrying on.
        with_scheduled: also run the one-time tasks due later, moving the manual clock.
        max_rounds: the most rounds before giving up (``Timeout``).
        timeout: seconds each ``join`` may wait for the node to go idle.

    Raises:
        TaskFailed: with ``fail_fast``, the first failure: its task id, error text and attempts.
        Timeout: the node stayed busy (``timeout``) or work kept coming (``max_rounds``).
        ValidationError: ``sup`` does not run on a ``ManualClock`` (field ``clock``).

    Example:
        >>> import actors
        >>> from actors.testing import drain, inline_supervisor
        >>> with inline_supervisor() as sup:
        ...     _ = sup.register_task_worker(actors.TaskWorker("ADD", lambda ctx, o, t: o["a"] + o["b"]))
        ...     task_id = sup.create_task("ADD", metadata={"a": 1, "b": 2})
        ...     drain(sup).succeeded, sup.get_task(task_id).result
        (1, 3)
    """
    clock = _manual_clock(sup)
    start = _SEEN.get(sup)
    if start is None:
        start = _snapshot(sup)
    previous = start
    failed: list[Task] = []
    for rounds in range(1, max_rounds + 1):
        sup.tick()
        sup.join(timeout=timeout)
        current = _snapshot(sup)
        new_failures = _failures(previous, current)
        if fail_fast and new_failures:
            after = dict(current)
            for task in new_failures[1:]:  # not reported yet: the next drain raises them
                if task.id in previous:
                    after[task.id] = previous[task.id]
                else:
                    del after[task.id]
            _SEEN[sup] = after
            first = new_failures[0]
            raise TaskFailed(first.id, first.error, first.attempts)
        failed.extend(new_failures)
        if _states(current) == _states(previous):
            later = _next_scheduled(sup, clock.now()) if with_scheduled else None
            if later is None:
                _SEEN[sup] = current
                return _report(start, current, failed, rounds)
            clock.set(later)
        previous = current
    raise Timeout(f"drain: work still due after {max_rounds} rounds")


def _states(tasks: dict[str, Task]) -> dict[str, _State]:
    return {task_id: _state(task) for task_id, task in tasks.items()}


def _report(start: dict[str, Task], end: dict[str, Task], failed: list[Task], rounds: int) -> Drained:
    runs = succeeded = 0
    for task_id, task in end.items():
        old = start.get(task_id)
        runs += max(0, task.attempts - (old.attempts if old else 0))
        if task.status is TaskStatus.SUCCEEDED and (old is None or old.status is not TaskStatus.SUCCEEDED):
            succeeded += 1
    return Drained(runs=runs, succeeded=succeeded, failed=tuple(failed), rounds=rounds)


@overload
def advance(target: Supervisor, seconds: float | timedelta, *, fail_fast: bool = True) -> Drained: ...
@overload
def advance(target: ManualClock, seconds: float | timedelta, *, fail_fast: bool = True) -> float: ...
def advance(target: Supervisor | ManualClock, seconds: float | timedelta, *,
            fail_fast: bool = True) -> Drained | float:
    """Move the manual clock ``seconds`` forward; on a node, then ``drain`` what came due.

    Given a ``Supervisor``, moves its clock and returns the ``drain`` (``fail_fast`` as
    there). Given a ``ManualClock``, only moves it and returns the new time. A recurring
    task that came due runs once, however many intervals passed (as on a real clock):
    advance interval by interval to see each run.

    Raises:
        ValidationError: ``seconds`` negative or not a number (field ``seconds``), or a
            node not on a ``ManualClock`` (field ``clock``).
        TaskFailed: as ``drain``.

    Example:
        >>> from actors import ManualClock
        >>> advance(ManualClock(100.0), 60)
        160.0
    """
    step = seconds.total_seconds() if isinstance(seconds, timedelta) else seconds
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not step >= 0:
        raise ValidationError("seconds", seconds, "must be a number of seconds >= 0")
    if isinstance(target, ManualClock):
        return target.advance(step)
    _manual_clock(target).advance(step)
    return drain(target, fail_fast=fail_fast)
