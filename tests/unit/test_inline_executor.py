"""InlineExecutor: synchronous, deterministic, time from a ManualClock (no threads, no sleeps)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from actors import ManualClock
from actors.context import TaskContext
from actors.execution.inline import InlineExecutor
from actors.messages import ExecutorEvent, Job, JobDone, JobLog, JobProgress, JobStarted
from actors.models import Cancelled, Raised, Succeeded, Task, TimedOut
from tests.helpers import make_job

START = 1_700_000_000.0


def ok(ctx: TaskContext, options: dict[str, Any], task: Task) -> dict[str, Any]:
    ctx.progress(50)
    ctx.log.info("ran %s", task.name)
    return {"thread": threading.current_thread().name, "options": options}


async def aok(ctx: TaskContext, options: dict[str, Any], task: Task) -> str:
    return "async"


def fail(ctx: TaskContext, options: dict[str, Any], task: Task) -> None:
    raise RuntimeError("nope")


def until_aborted(ctx: TaskContext, options: dict[str, Any], task: Task) -> bool:
    ctx.progress(1)  # the test's on_event aborts the task here
    return ctx.is_aborted()


class Recorder:
    def __init__(self) -> None:
        self.events: list[ExecutorEvent] = []
        self.on_progress: Any = None
        self.on_done: Any = None

    def __call__(self, event: ExecutorEvent) -> None:
        self.events.append(event)
        if isinstance(event, JobProgress) and self.on_progress:
            self.on_progress(event)
        if isinstance(event, JobDone) and self.on_done:
            self.on_done(event)

    def outcomes(self) -> dict[str, Any]:
        return {e.task_id: e.outcome for e in self.events if isinstance(e, JobDone)}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def executor(recorder: Recorder, clock: ManualClock) -> InlineExecutor:
    return InlineExecutor(recorder, clock=clock)


FUNCTIONS = {"ok": ok, "aok": aok, "fail": fail, "until_aborted": until_aborted}


def test_submit_runs_every_job_before_returning(executor: InlineExecutor, recorder: Recorder) -> None:
    first, second = make_job("ok", metadata={"a": 1}), make_job("aok")
    executor.submit([first, second], FUNCTIONS)
    assert [type(e) for e in recorder.events] == [JobProgress, JobLog, JobDone, JobDone]
    assert recorder.outcomes() == {
        first.task.id: Succeeded({"thread": threading.current_thread().name, "options": {"a": 1}}),
        second.task.id: Succeeded("async"),
    }
    log = recorder.events[1]
    assert isinstance(log, JobLog) and (log.created, log.message) == (START, "ran ok")
    assert executor.pid is None


def test_exceptions_and_unknown_names_end_raised(executor: InlineExecutor, recorder: Recorder) -> None:
    boom, nobody = make_job("fail"), make_job("NOBODY")
    executor.submit([boom, nobody], FUNCTIONS)
    outcomes = recorder.outcomes()
    assert isinstance(outcomes[boom.task.id], Raised) and outcomes[boom.task.id].message == "nope"
    assert outcomes[nobody.task.id].type == "UnknownWorker"


def test_a_timed_job_reports_started_and_times_out_by_the_clock(
        executor: InlineExecutor, recorder: Recorder, clock: ManualClock) -> None:
    def slow(ctx: TaskContext, options: dict[str, Any], task: Task) -> None:
        clock.advance(11)

    quick, late = make_job("ok", timeout=10), make_job("slow", timeout=10)
    executor.submit([quick, late], {**FUNCTIONS, "slow": slow})
    assert recorder.events[0] == JobStarted(quick.task.id, quick.token, START)
    assert recorder.outcomes()[late.task.id] == TimedOut(10)
    assert isinstance(recorder.outcomes()[quick.task.id], Succeeded)


def test_abort_of_the_running_job_sets_its_flag(executor: InlineExecutor, recorder: Recorder) -> None:
    job = make_job("until_aborted")
    recorder.on_progress = lambda event: executor.abort(event.task_id, grace=5)
    executor.submit([job], FUNCTIONS)
    assert recorder.outcomes() == {job.task.id: Cancelled()}


def test_abort_before_a_job_runs_cancels_it(executor: InlineExecutor, recorder: Recorder) -> None:
    first, second, third = make_job("ok"), make_job("ok"), make_job("ok")
    aborted: list[bool] = []
    recorder.on_done = lambda event: aborted.append(executor.abort(second.task.id, grace=0)) \
        if event.task_id == first.task.id else None
    executor.submit([first, second, third], FUNCTIONS)
    assert aborted == [True]
    assert recorder.outcomes()[second.task.id] == Cancelled()
    assert [e.task_id for e in recorder.events if isinstance(e, JobDone)] == [
        first.task.id, second.task.id, third.task.id]
    progressed = [e.task_id for e in recorder.events if isinstance(e, JobProgress)]
    assert progressed == [first.task.id, third.task.id]
    assert executor.abort(second.task.id, grace=0) is False


def test_submit_from_a_job_queues_behind_it(executor: InlineExecutor, recorder: Recorder) -> None:
    inner = make_job("ok")

    def spawn(ctx: TaskContext, options: dict[str, Any], task: Task) -> str:
        executor.submit([inner], FUNCTIONS)
        return "outer"

    outer = make_job("spawn")
    executor.submit([outer], {**FUNCTIONS, "spawn": spawn})
    assert [e.task_id for e in recorder.events if isinstance(e, JobDone)] == [outer.task.id, inner.task.id]


def test_stop_returns_queued_jobs_and_refuses_more(executor: InlineExecutor, recorder: Recorder) -> None:
    later = make_job("ok")
    returned: list[list[Job]] = []

    def stopper(ctx: TaskContext, options: dict[str, Any], task: Task) -> None:
        returned.append(executor.stop(1.0))

    executor.submit([make_job("stopper"), later], {**FUNCTIONS, "stopper": stopper})
    assert returned == [[later]]
    assert later.task.id not in recorder.outcomes()
    with pytest.raises(RuntimeError):
        executor.submit([make_job("ok")], FUNCTIONS)
