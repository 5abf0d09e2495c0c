"""The attempt runner (``actors.attempt``): hook order, errors in each hook, catch_error,
AbortTask, abort, max iterations and global hooks (a TaskContext on a manual clock, no node)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

import pytest

import actors
from actors import ManualClock, Retry, TaskWorker
from actors.attempt import GlobalHooks, Lifecycle, plan, run_attempt
from actors.context import TaskContext
from actors.lifecycle import decide, is_final
from actors.messages import ExecutorEvent, JobLog
from actors.models import Cancelled, Raised, Succeeded, TaskStatus
from tests.helpers import make_job

Calls = list[str]


class MaxIterationsExceeded(Exception):
    """Stands for the error a Continue past ``max_iterations`` ends with (the iterations branch)."""


def recording(calls: Calls, *, result: Any = "done", error: BaseException | None = None,
              **overrides: Any) -> TaskWorker:
    """A worker whose execute and every hook append their name (and what they got) to ``calls``."""

    def execute(ctx: TaskContext, options: Any, task: actors.Task) -> Any:
        calls.append(f"execute init={ctx.init}")
        if error is not None:
            raise error
        return result

    def hook(name: str) -> Any:
        def fn(ctx: TaskContext, options: Any, *extra: Any) -> None:
            calls.append(name if not extra else f"{name} {extra[0]!r}")
        return fn

    def middleware(label: str) -> Any:
        def fn(ctx: TaskContext, options: Any, call_next: Any) -> Any:
            calls.append(f"{label} before")
            value = call_next()
            calls.append(f"{label} after {value!r}")
            return value
        return fn

    def init(ctx: TaskContext, options: Any) -> str:
        calls.append("init")
        return "resource"

    hooks: dict[str, Any] = {name: hook(name) for name in (
        "cleanup", "on_start", "on_success", "on_failure", "on_complete", "on_abort", "on_max_iterations")}
    fields = {"init": init, "middleware": [middleware("outer"), middleware("inner")], **hooks, **overrides}
    return TaskWorker("HOOKED", execute, **fields)


def attempt(worker: TaskWorker, *, hooks: GlobalHooks | None = None, attempt_no: int = 1,
            metadata: dict[str, Any] | None = None, reason: Any = None) -> tuple[Any, list[ExecutorEvent]]:
    events: list[ExecutorEvent] = []
    job = make_job(worker.name, metadata=metadata, attempt=attempt_no)
    job = job._replace(task=dataclasses.replace(job.task, attempts=attempt_no))
    ctx = TaskContext(job, events.append, clock=ManualClock(1000.0))
    return run_attempt(plan(worker, hooks), ctx, reason=reason), events


def test_a_successful_attempt_runs_every_hook_in_order() -> None:
    calls: Calls = []
    outcome, _ = attempt(recording(calls))
    assert outcome == Succeeded("done")
    assert calls == ["init", "on_start", "outer before", "inner before", "execute init=resource",
                     "inner after 'done'", "outer after 'done'", "on_success 'done'",
                     f"on_complete {Succeeded('done')!r}", "cleanup"]


def test_a_middleware_may_change_the_result() -> None:
    calls: Calls = []
    worker = recording(calls, middleware=[lambda ctx, options, call_next: {"wrapped": call_next()}])
    outcome, _ = attempt(worker)
    assert outcome == Succeeded({"wrapped": "done"})


def test_async_middleware_awaits_call_next_and_async_execute_and_hooks_run() -> None:
    calls: Calls = []

    async def execute(ctx: TaskContext, options: Any, task: actors.Task) -> int:
        calls.append("execute")
        return 41

    async def mw(ctx: TaskContext, options: Any, call_next: Any) -> int:
        return int(await call_next()) + 1

    async def on_success(ctx: TaskContext, options: Any, result: Any) -> None:
        calls.append(f"on_success {result}")

    def sync_mw(ctx: TaskContext, options: Any, call_next: Any) -> Any:
        calls.append("sync mw")
        return call_next()

    worker = TaskWorker("ASYNC", execute, middleware=[mw, sync_mw], on_success=on_success)
    outcome, _ = attempt(worker)
    assert outcome == Succeeded(42)
    assert calls == ["sync mw", "execute", "on_success 42"]


def test_a_failure_with_a_retry_left_calls_no_failure_or_complete_hook() -> None:
    calls: Calls = []
    worker = recording(calls, error=RuntimeError("down"), retry=Retry(max_attempts=2, jitter=False))
    outcome, _ = attempt(worker, attempt_no=1)
    assert isinstance(outcome, Raised) and outcome.type == "RuntimeError"
    assert calls[-2:] == ["execute init=resource", "cleanup"]
    assert not any(call.startswith(("on_failure", "on_complete", "on_success")) for call in calls)


def test_the_last_failure_calls_on_failure_with_the_exception_then_on_complete() -> None:
    calls: Calls = []
    error = RuntimeError("down")
    worker = recording(calls, error=error, retry=Retry(max_attempts=2, jitter=False))
    outcome, _ = attempt(worker, attempt_no=2)
    assert isinstance(outcome, Raised)
    assert calls[-3:] == [f"on_failure {error!r}", f"on_complete {outcome!r}", "cleanup"]


@pytest.mark.parametrize("hook", ["on_start", "on_success", "on_complete", "cleanup"])
def test_an_exception_in_a_hook_is_logged_and_never_changes_the_outcome(
        hook: str, caplog: pytest.LogCaptureFixture) -> None:
    calls: Calls = []

    def broken(ctx: TaskContext, options: Any, *extra: Any) -> None:
        raise ValueError(f"{hook} broke")

    with caplog.at_level(logging.ERROR, logger="actors.hooks"):
        outcome, events = attempt(recording(calls, **{hook: broken}))
    assert outcome == Succeeded("done")
    lines = [event.message for event in events if isinstance(event, JobLog)]
    assert len(lines) == 1 and f"HOOKED.{hook} raised ValueError: {hook} broke" in lines[0]
    assert any(f"{hook} broke" in record.getMessage() for record in caplog.records)
    assert "cleanup" in calls or hook == "cleanup"


def test_an_exception_in_on_failure_is_logged_and_the_task_still_fails() -> None:
    def broken(ctx: TaskContext, options: Any, error: BaseException) -> None:
        raise ValueError("on_failure broke")

    outcome, events = attempt(recording([], error=RuntimeError("down"), on_failure=broken))
    assert isinstance(outcome, Raised) and outcome.type == "RuntimeError"
    assert any(isinstance(e, JobLog) and "on_failure raised ValueError" in e.message for e in events)


def test_an_exception_in_init_fails_the_attempt_and_skips_execute() -> None:
    calls: Calls = []

    def init(ctx: TaskContext, options: Any) -> None:
        raise ConnectionError("no database")

    outcome, _ = attempt(recording(calls, init=init))
    assert isinstance(outcome, Raised) and outcome.describe() == "ConnectionError: no database"
    assert not any(call.startswith(("execute", "on_start")) for call in calls)
    assert calls[-1] == "cleanup" and any(call.startswith("on_failure") for call in calls)


def test_an_exception_in_a_middleware_fails_the_attempt() -> None:
    calls: Calls = []

    def refuse(ctx: TaskContext, options: Any, call_next: Any) -> Any:
        raise PermissionError("not allowed")

    outcome, _ = attempt(recording(calls, middleware=[refuse]))
    assert isinstance(outcome, Raised) and outcome.type == "PermissionError"
    assert not any(call.startswith("execute") for call in calls)


@pytest.mark.parametrize(("answer", "final", "retry_in"), [(None, False, None), (False, True, None),
                                                           (30, False, 30.0), (0.5, False, 0.5),
                                                           (timedelta(minutes=1), False, 60.0)])
def test_catch_error_decides_the_retry(answer: Any, final: bool, retry_in: float | None) -> None:
    seen: list[BaseException] = []
    error = RuntimeError("flaky")

    def catch(ctx: TaskContext, options: Any, exc: BaseException) -> Any:
        seen.append(exc)
        return answer

    outcome, _ = attempt(recording([], error=error, catch_error=catch))
    assert seen == [error]
    assert isinstance(outcome, Raised) and (outcome.final, outcome.retry_in) == (final, retry_in)


@pytest.mark.parametrize("answer", ["soon", -1, float("nan"), True])
def test_a_bad_catch_error_answer_is_logged_and_the_policy_decides(answer: Any) -> None:
    outcome, events = attempt(recording([], error=RuntimeError("x"), catch_error=lambda c, o, e: answer))
    assert isinstance(outcome, Raised) and (outcome.final, outcome.retry_in) == (False, None)
    assert any(isinstance(e, JobLog) and "catch_error returned" in e.message for e in events)


def test_a_raising_catch_error_is_logged_and_the_policy_decides() -> None:
    def catch(ctx: TaskContext, options: Any, exc: BaseException) -> Any:
        raise KeyError("oops")

    outcome, events = attempt(recording([], error=RuntimeError("x"), catch_error=catch))
    assert isinstance(outcome, Raised) and (outcome.final, outcome.retry_in) == (False, None)
    assert any(isinstance(e, JobLog) and "catch_error raised KeyError" in e.message for e in events)


def test_abort_task_is_final_at_once_and_catch_error_is_not_asked() -> None:
    calls: Calls = []
    worker = recording(calls, error=actors.AbortTask("bad input"), retry=Retry(max_attempts=5),
                       catch_error=lambda ctx, options, exc: calls.append("catch_error"))
    outcome, _ = attempt(worker)
    assert isinstance(outcome, Raised) and outcome.final and outcome.describe() == "AbortTask: bad input"
    assert "catch_error" not in calls
    assert any(call.startswith("on_failure") for call in calls)


def test_abort_task_without_hooks_is_final_too() -> None:
    def execute(ctx: TaskContext, options: Any, task: actors.Task) -> None:
        raise actors.AbortTask("stop")

    worker = TaskWorker("PLAIN", execute, retry=Retry(max_attempts=5))
    assert plan(worker) is execute
    outcome, _ = attempt(worker)
    assert isinstance(outcome, Raised) and outcome.final


def test_a_cancelled_attempt_calls_on_abort_then_on_complete() -> None:
    calls: Calls = []
    outcome, _ = attempt(recording(calls), reason=lambda: Cancelled())
    assert outcome == Cancelled()
    assert calls[-3:] == ["on_abort", f"on_complete {Cancelled()!r}", "cleanup"]
    assert not any(call.startswith("on_success") for call in calls)


def test_max_iterations_exceeded_calls_on_max_iterations_and_on_failure() -> None:
    calls: Calls = []
    verdict = Raised("MaxIterationsExceeded", "the task continued past max_iterations=3", final=True)
    outcome, _ = attempt(recording(calls), reason=lambda: verdict)
    assert outcome == verdict
    assert calls[-4] == "on_max_iterations" and calls[-3].startswith("on_failure ActorsError(")
    assert calls[-2:] == [f"on_complete {verdict!r}", "cleanup"]


def test_a_raised_max_iterations_error_calls_on_max_iterations() -> None:
    calls: Calls = []
    outcome, _ = attempt(recording(calls, error=MaxIterationsExceeded("past 500")))
    assert isinstance(outcome, Raised) and outcome.type == "MaxIterationsExceeded"
    assert "on_max_iterations" in calls


def test_a_plain_worker_runs_its_execute_and_global_hooks_add_a_lifecycle() -> None:
    def execute(ctx: TaskContext, options: Any, task: actors.Task) -> int:
        return 1

    worker = TaskWorker("PLAIN", execute)
    assert plan(worker) is execute and plan(worker, GlobalHooks()) is execute
    planned = plan(worker, GlobalHooks().add("success", print))
    assert isinstance(planned, Lifecycle) and planned.execute is execute


def test_global_hooks_run_after_the_workers_own_and_inside_its_middleware() -> None:
    calls: Calls = []
    hooks = GlobalHooks()
    for event in ("start", "success", "complete"):
        hooks = hooks.add(event, lambda ctx, options, *extra, event=event: calls.append(f"global {event}"))

    def mw(ctx: TaskContext, options: Any, call_next: Any) -> Any:
        calls.append("global mw")
        return call_next()

    outcome, _ = attempt(recording(calls), hooks=hooks.add("middleware", mw))
    assert outcome == Succeeded("done")
    assert calls.index("on_start") < calls.index("global start") < calls.index("outer before")
    assert calls.index("inner before") < calls.index("global mw") < calls.index("execute init=resource")
    assert calls.index("on_success 'done'") < calls.index("global success") < calls.index("on_complete " + repr(
        Succeeded("done"))) < calls.index("global complete")
    assert calls[-1] == "cleanup"


@pytest.mark.parametrize(("event", "fn"), [("finish", print), ("success", "not callable")])
def test_a_bad_global_hook_is_refused(event: str, fn: Any) -> None:
    with pytest.raises(actors.ValidationError):
        GlobalHooks().add(event, fn)


def test_decide_honours_the_attempts_directive() -> None:
    task = dataclasses.replace(make_job("T").task, attempts=1)
    policy = Retry(max_attempts=3, min_delay=1, jitter=False)
    assert decide(task, "t", Raised("E", "x", final=True), 100.0, worker_retry=policy).status is TaskStatus.FAILED
    retry = decide(task, "t", Raised("E", "x", retry_in=30.0), 100.0, worker_retry=policy)
    assert (retry.status, retry.run_at) == (TaskStatus.PENDING, 130.0)
    without_policy = decide(task, "t", Raised("E", "x", retry_in=0.0), 100.0)
    assert (without_policy.status, without_policy.run_at) == (TaskStatus.PENDING, 100.0)
    last = dataclasses.replace(task, attempts=3)
    assert decide(last, "t", Raised("E", "x", retry_in=5.0), 100.0, worker_retry=policy).status is TaskStatus.FAILED
    assert is_final(last, Raised("E", "x"), worker_retry=policy)
    assert not is_final(task, Raised("E", "x"), worker_retry=policy)
