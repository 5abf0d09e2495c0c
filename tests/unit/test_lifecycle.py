"""The pure decision taken after each attempt."""

from __future__ import annotations

from dataclasses import replace

from actors import Retry, TaskSpec, TaskStatus
from actors.lifecycle import decide
from actors.models import Cancelled, Crashed, Raised, Succeeded, Task, TimedOut, Waiting
from actors.spec import build_task

NOW = 1_000.0


def task(**fields: object) -> Task:
    attempts = fields.pop("attempts", 1)
    failures = fields.pop("failure_count", 0)
    crashes = fields.pop("crash_count", 0)
    built = build_task(TaskSpec(name="JOB", **fields), task_id="t", now=0.0)  # type: ignore[arg-type]
    return replace(built, attempts=attempts, failure_count=failures, crash_count=crashes)


def test_one_time_success_keeps_the_result() -> None:
    finish = decide(task(), "tok", Succeeded({"ok": 1}), NOW)
    assert (finish.status, finish.result, finish.token) == (TaskStatus.SUCCEEDED, {"ok": 1}, "tok")


def test_one_time_failure_without_retry_fails_for_good() -> None:
    finish = decide(task(), "tok", Raised("ValueError", "bad"), NOW)
    assert finish.status is TaskStatus.FAILED
    assert finish.error == "ValueError: bad"
    assert finish.failure_count == 1


def test_one_time_failure_retries_by_policy_until_exhausted() -> None:
    retry = Retry(max_attempts=3, min_delay=2.0, jitter=False)
    first = decide(task(attempts=1), "t", Raised("E", "x"), NOW, worker_retry=retry)
    assert (first.status, first.run_at) == (TaskStatus.PENDING, NOW + 2.0)
    second = decide(task(attempts=2), "t", TimedOut(5), NOW, worker_retry=retry)
    assert (second.status, second.run_at) == (TaskStatus.PENDING, NOW + 4.0)
    third = decide(task(attempts=3), "t", Raised("E", "x"), NOW, worker_retry=retry)
    assert third.status is TaskStatus.FAILED


def test_task_retry_and_max_attempts_override_the_worker_policy() -> None:
    worker_retry = Retry(max_attempts=10, jitter=False)
    assert decide(task(max_attempts=1), "t", Raised("E", ""), NOW,
                  worker_retry=worker_retry).status is TaskStatus.FAILED
    own = task(retry=Retry(max_attempts=2, min_delay=7, jitter=False))
    assert decide(own, "t", Raised("E", ""), NOW, worker_retry=worker_retry).run_at == NOW + 7


def test_recurring_success_schedules_the_next_run_and_resets_failures() -> None:
    finish = decide(task(update_interval=10, failure_count=2), "t", Succeeded(1), NOW)
    assert (finish.status, finish.run_at, finish.failure_count) == (TaskStatus.PENDING, NOW + 10, 0)


def test_recurring_next_interval_moves_only_the_next_run() -> None:
    finish = decide(task(update_interval=10), "t", Succeeded(None, next_interval=3.0), NOW)
    assert finish.run_at == NOW + 3.0


def test_recurring_failure_backs_off_then_auto_pauses() -> None:
    recurring = task(update_interval=1, max_failures=3)
    first = decide(recurring, "t", Raised("E", "x"), NOW)
    assert (first.status, first.run_at, first.failure_count) == (TaskStatus.PENDING, NOW + 2, 1)
    second = decide(replace(recurring, failure_count=1), "t", Raised("E", "x"), NOW)
    assert second.run_at == NOW + 4
    third = decide(replace(recurring, failure_count=2), "t", Raised("E", "x"), NOW)
    assert (third.status, third.failure_count) == (TaskStatus.PAUSED, 3)


def test_recurring_with_max_failures_never_does_not_pause() -> None:
    recurring = task(update_interval=1, max_failures=-1, failure_count=50)
    finish = decide(recurring, "t", Raised("E", "x"), NOW)
    assert (finish.status, finish.run_at) == (TaskStatus.PENDING, NOW + 300)


def test_crash_reruns_a_one_time_task_at_once_and_quarantines_after_max_crashes() -> None:
    first = decide(task(), "t", Crashed("exit code 3", 3), NOW, max_crashes=3)
    assert (first.status, first.run_at, first.crash_count) == (TaskStatus.PENDING, NOW, 1)
    last = decide(task(crash_count=2), "t", Crashed("signal 9", -9), NOW, max_crashes=3)
    assert last.status is TaskStatus.FAILED
    assert last.error is not None and "quarantined after 3 crashes" in last.error


def test_cancelled_outcome_is_cancelled() -> None:
    assert decide(task(), "t", Cancelled(), NOW).status is TaskStatus.CANCELLED


# --- the reclaim / quarantine rule (one home; every store's reclaim_expired applies it) -----


def test_reclaim_counts_an_expired_lease_as_a_crash_and_names_the_owner() -> None:
    from actors.lifecycle import reclaim

    state = reclaim(0, "node-a", pause_requested=False, max_crashes=3)
    assert (state.status, state.crash_count) == (TaskStatus.PENDING, 1)
    assert "'node-a'" in state.error and "Crashed" in state.error


def test_reclaim_keeps_a_pause_requested_while_running() -> None:
    from actors.lifecycle import reclaim

    assert reclaim(0, "n", pause_requested=True, max_crashes=3).status is TaskStatus.PAUSED


def test_reclaim_quarantines_at_max_crashes_and_never_below_one() -> None:
    from actors.lifecycle import reclaim

    state = reclaim(2, "n", pause_requested=True, max_crashes=3)
    assert (state.status, state.crash_count) == (TaskStatus.FAILED, 3)
    assert "Quarantined" in state.error and "max_crashes=3" in state.error
    assert reclaim(99, "n", pause_requested=False, max_crashes=0).status is TaskStatus.PENDING


def test_a_waiting_end_given_to_decide_runs_again_at_the_deadline_counting_no_failure() -> None:
    waiting = replace(task(), failure_count=1, crash_count=1)
    later = decide(waiting, "tok", Waiting(("child",), NOW + 60), NOW)
    assert (later.status, later.run_at, later.failure_count, later.crash_count) == (TaskStatus.PENDING, NOW + 60, 1, 1)
    assert decide(waiting, "tok", Waiting(("child",)), NOW).run_at == NOW
