"""What happens to a task after an attempt: a pure decision, written as a ``Finish``.

The supervisor calls :func:`decide` with the task as it was claimed and the
attempt's outcome; the store applies the answer (fenced by the token). Nothing
here reads the clock or sleeps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .iterations import MAX_ITERATIONS_EXCEEDED
from .models import Cancelled, Continued, Crashed, Outcome, Raised, Succeeded, Task, TaskStatus, Waiting
from .retry import Retry, recurring_backoff
from .storage.base import Continuation, Finish

__all__ = ["DEFAULT_MAX_CRASHES", "Reclaim", "continuation", "decide", "effective_retry", "is_final", "reclaim"]

#: Crashes (a dead process, an expired lease) after which a task is quarantined.
DEFAULT_MAX_CRASHES = 3


@dataclass(frozen=True)
class Reclaim:
    """The next state of a RUNNING row whose lease expired (``reclaim``); a store writes it
    with the lease dropped and ``finished_at`` set when ``status`` is final."""

    status: TaskStatus  # PENDING, PAUSED (a pause was requested) or FAILED (quarantined)
    crash_count: int
    error: str


def reclaim(crash_count: int, owner: str | None, *, pause_requested: bool, max_crashes: int) -> Reclaim:
    """The reclaim / quarantine rule, the one every store applies in ``reclaim_expired``.

    An expired lease counts as a crash: ``crash_count + 1``. When that reaches
    ``max_crashes`` (if ``max_crashes >= 1``) the task is quarantined as FAILED; otherwise
    it goes back to PENDING (PAUSED if a pause was requested while it ran). The error
    names the last owner. ``run_at`` and ``attempts`` are kept by the store.
    """
    crashes = crash_count + 1
    if max_crashes >= 1 and crashes >= max_crashes:
        return Reclaim(TaskStatus.FAILED, crashes,
                       f"Quarantined: the lease expired {crashes} times (max_crashes={max_crashes}); "
                       f"last owner {owner!r}")
    return Reclaim(TaskStatus.PAUSED if pause_requested else TaskStatus.PENDING, crashes,
                   f"Crashed: the lease of owner {owner!r} expired")


def effective_retry(task: Task, worker_retry: Retry | None) -> Retry | None:
    """The retry policy of a one-time task: its own, else its worker's; ``max_attempts`` wins."""
    retry = Retry.from_dict(task.retry) if task.retry else worker_retry
    if task.max_attempts is not None:
        if retry is None:
            return Retry(max_attempts=task.max_attempts, min_delay=1.0, jitter=False)
        return Retry(task.max_attempts, retry.factor, retry.min_delay, retry.max_delay, retry.jitter)
    return retry


def continuation(task: Task, token: str, outcome: Continued, now: float) -> Continuation:
    """The next iteration of ``task`` after an attempt that returned ``actors.Continue``: due
    ``outcome.delay`` seconds after ``now``, with its metadata (None: kept). Not a failure: the
    store resets the attempts (``TaskStore.continue_tasks``)."""
    return Continuation(task.id, token, now + outcome.delay, outcome.metadata)


def decide(task: Task, token: str, outcome: Outcome, now: float, *, worker_retry: Retry | None = None,
           max_crashes: int = DEFAULT_MAX_CRASHES, rng: random.Random | None = None) -> Finish:
    """The row's next state after one attempt of ``task`` ended with ``outcome``.

    - Success: a one-time task is SUCCEEDED with its result; a recurring task goes back
      to PENDING one interval later (``next_interval`` if the worker returned one),
      its failure count reset.
    - Cancelled: CANCELLED.
    - Crash: counted apart; at ``max_crashes`` the task is quarantined as FAILED.
      Otherwise a one-time task runs again at once (a crash is not the task's own
      failure), a recurring one takes the failure path.
    - Raised / TimedOut: a one-time task retries per its ``Retry`` (none: FAILED); a
      recurring task backs off ``interval × 2^failures`` (capped at 300 s) and is
      PAUSED once ``failure_count`` reaches ``max_failures`` (-1: never).
    - The attempt's own directive on a ``Raised`` comes first: ``final`` (``AbortTask``,
      ``catch_error`` → False, and ``MaxIterationsExceeded``: a Continue past
      ``max_iterations``) is FAILED now, one-time or recurring; ``retry_in``
      (``catch_error`` → seconds) retries that many seconds later — a one-time task while
      attempts remain under its policy's ``max_attempts`` (``Retry()``'s 3 without a policy),
      a recurring task always.
    - Continued is not an end: the caller writes ``continuation`` instead (here it is
      refused with ``TypeError``).
    - Waiting: not an end (the supervisor suspends such an attempt: ``runtime/awaiting.py``);
      given here anyway, the task runs again at the wait's deadline, or now, counters kept.
    """
    if isinstance(outcome, Continued):
        raise TypeError("decide: a Continued outcome is written as a continuation, not a finish")
    if isinstance(outcome, Waiting):
        return Finish(task.id, token, TaskStatus.PENDING, run_at=now if outcome.wake_at is None else outcome.wake_at,
                      failure_count=task.failure_count, crash_count=task.crash_count)
    if isinstance(outcome, Succeeded):
        if task.update_interval is not None:
            interval = outcome.next_interval or task.update_interval
            return Finish(task.id, token, TaskStatus.PENDING, run_at=now + interval,
                          result=outcome.result, crash_count=task.crash_count, clear_steps=True)
        return Finish(task.id, token, TaskStatus.SUCCEEDED, result=outcome.result,
                      failure_count=task.failure_count, crash_count=task.crash_count)
    if isinstance(outcome, Cancelled):
        return Finish(task.id, token, TaskStatus.CANCELLED, error=outcome.describe(),
                      failure_count=task.failure_count, crash_count=task.crash_count)
    error = outcome.describe()
    crashes = task.crash_count
    if isinstance(outcome, Crashed):
        crashes += 1
        if crashes >= max_crashes:
            return Finish(task.id, token, TaskStatus.FAILED,
                          error=f"quarantined after {crashes} crashes; last: {error}",
                          failure_count=task.failure_count + 1, crash_count=crashes)
        if task.update_interval is None:
            return Finish(task.id, token, TaskStatus.PENDING, run_at=now, error=error,
                          failure_count=task.failure_count, crash_count=crashes)
    failures = task.failure_count + 1
    if isinstance(outcome, Raised) and (outcome.final or outcome.type == MAX_ITERATIONS_EXCEEDED):
        return Finish(task.id, token, TaskStatus.FAILED, error=error, failure_count=failures, crash_count=crashes)
    if isinstance(outcome, Raised) and outcome.retry_in is not None:
        limit = (effective_retry(task, worker_retry) or Retry()).max_attempts
        if task.update_interval is not None or task.attempts < limit:
            return Finish(task.id, token, TaskStatus.PENDING, run_at=now + outcome.retry_in, error=error,
                          failure_count=failures, crash_count=crashes)
        return Finish(task.id, token, TaskStatus.FAILED, error=error, failure_count=failures, crash_count=crashes)
    if task.update_interval is not None:
        if 0 < task.max_failures <= failures:
            return Finish(task.id, token, TaskStatus.PAUSED, error=error, failure_count=failures,
                          crash_count=crashes)
        return Finish(task.id, token, TaskStatus.PENDING,
                      run_at=now + recurring_backoff(task.update_interval, failures), error=error,
                      failure_count=failures, crash_count=crashes)
    retry = effective_retry(task, worker_retry)
    retry_at = retry.retry_at(task.attempts, now, rng) if retry is not None else None
    if retry_at is None:
        return Finish(task.id, token, TaskStatus.FAILED, error=error, failure_count=failures,
                      crash_count=crashes)
    return Finish(task.id, token, TaskStatus.PENDING, run_at=retry_at, error=error,
                  failure_count=failures, crash_count=crashes)


def is_final(task: Task, outcome: Outcome, *, worker_retry: Retry | None = None) -> bool:
    """True when ``outcome`` ends ``task`` for good (SUCCEEDED, FAILED or CANCELLED): what
    :func:`decide` would write, asked where the attempt ran (the attempt runner calls
    ``on_failure`` / ``on_complete`` by it). A crash never reaches it (nothing runs after one)."""
    if isinstance(outcome, Continued):
        return False  # the same task runs again
    probe = random.Random(0)  # the jitter does not change the status; leave the global state alone
    return decide(task, "-", outcome, 0.0, worker_retry=worker_retry, rng=probe).status.finished
