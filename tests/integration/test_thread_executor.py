"""ThreadExecutor: jobs on a dedicated thread, cooperative timeouts and aborts, abandoned threads."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors.execution.thread import ThreadExecutor
from actors.messages import JobDone, JobLog, JobMetadata, JobProgress, JobStarted
from actors.models import Cancelled, Crashed, Raised, Succeeded, TimedOut
from tests.helpers import Creates, EventRecorder, make_job
from tests.integration import task_functions as tf

pytestmark = pytest.mark.timeout(120)

FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(tf, name)
    for name in ("noop", "echo", "whoami", "async_whoami", "boom", "not_json", "next_interval", "chatty",
                 "cooperative", "block", "timing")
}


@pytest.fixture
def recorder() -> EventRecorder:
    return EventRecorder()


@pytest.fixture
def executor(recorder: EventRecorder) -> Iterator[ThreadExecutor]:
    tf.RELEASE.clear()
    executor = ThreadExecutor(recorder, create=Creates(), name="test-executor")
    yield executor
    tf.RELEASE.set()  # frees abandoned threads
    executor.stop(5.0)


def test_jobs_run_in_order_on_one_dedicated_thread(executor: ThreadExecutor, recorder: EventRecorder) -> None:
    jobs = [make_job("whoami") for _ in range(20)]
    executor.submit(jobs[:10], FUNCTIONS)
    executor.submit(jobs[10:], FUNCTIONS)
    dones = recorder.wait_done(20)
    assert [d.task_id for d in dones] == [j.task.id for j in jobs]
    threads = {d.outcome.result["thread"] for d in dones}  # type: ignore[union-attr]
    assert len(threads) == 1 and threads != {threading.current_thread().name}
    assert executor.pid is None


def test_results_errors_and_next_interval(executor: ThreadExecutor, recorder: EventRecorder) -> None:
    echo, aio, boom = make_job("echo", metadata={"k": 1}), make_job("async_whoami"), make_job("boom")
    bad, interval = make_job("not_json"), make_job("next_interval")
    executor.submit([echo, aio, boom, bad, interval], FUNCTIONS)
    assert recorder.outcome(echo) == Succeeded({"options": {"k": 1}, "attempt": 1, "name": "echo"})
    assert recorder.outcome(aio) == Succeeded({"async": True, "pid": os.getpid()})
    raised = recorder.outcome(boom)
    assert isinstance(raised, Raised) and raised.type == "ValueError" and "in boom" in raised.traceback
    not_json = recorder.outcome(bad)
    assert isinstance(not_json, Raised) and not_json.message.startswith("result is not JSON-serialisable")
    assert recorder.outcome(interval) == Succeeded({"nextInterval": 1500, "checked": True}, 1.5)


def test_events_arrive_in_order_before_the_job_ends(executor: ThreadExecutor,
                                                    recorder: EventRecorder) -> None:
    job = make_job("chatty", timeout=60)
    executor.submit([job], FUNCTIONS)
    recorder.outcome(job)
    assert [type(e) for e in recorder.of(job.task.id)] == [
        JobStarted, JobProgress, JobMetadata, JobLog, JobProgress, JobDone]


def test_a_timeout_reports_at_once_and_abandons_the_thread(executor: ThreadExecutor,
                                                           recorder: EventRecorder) -> None:
    finished = threading.Event()

    def stubborn(ctx: Any, options: dict[str, Any], task: Any) -> str:
        ctx.progress(1)
        tf.RELEASE.wait(60)  # released below, long after the deadline
        ctx.progress(99)  # from an abandoned job: must be dropped
        finished.set()
        return "late"

    first, stuck, later = make_job("whoami"), make_job("STUBBORN", timeout=0.3), make_job("whoami")
    executor.submit([first, stuck, later], {**FUNCTIONS, "STUBBORN": stubborn})
    assert recorder.outcome(stuck) == TimedOut(0.3)
    before, after = recorder.outcome(first), recorder.outcome(later)
    assert isinstance(before, Succeeded) and isinstance(after, Succeeded)
    assert before.result["thread"] != after.result["thread"]  # a fresh thread took over
    tf.RELEASE.set()
    assert finished.wait(30)
    assert [type(e) for e in recorder.of(stuck.task.id)] == [JobStarted, JobProgress, JobDone]


def test_abort_of_a_cooperative_job_cancels_it(executor: ThreadExecutor, recorder: EventRecorder) -> None:
    job, queued = make_job("cooperative"), make_job("noop")
    executor.submit([job, queued], FUNCTIONS)
    recorder.wait_event(job, JobProgress)
    assert executor.abort(queued.task.id, grace=0) is True
    assert recorder.outcome(queued) == Cancelled()
    assert executor.abort(job.task.id, grace=60) is True
    assert recorder.outcome(job) == Cancelled()
    assert executor.abort("no-such-task", grace=0) is False


def test_a_job_ignoring_its_abort_is_abandoned_after_the_grace(executor: ThreadExecutor,
                                                               recorder: EventRecorder) -> None:
    job, later = make_job("block"), make_job("noop")
    executor.submit([job, later], FUNCTIONS)
    recorder.wait_event(job, JobProgress)
    assert executor.abort(job.task.id, grace=0.1) is True
    assert recorder.outcome(job) == Cancelled()
    assert recorder.outcome(later) == Succeeded(None)
    tf.RELEASE.set()  # the abandoned thread returns now; nothing more is reported for it
    follow = make_job("noop")
    executor.submit([follow], FUNCTIONS)
    recorder.outcome(follow)
    assert Counter(d.task_id for d in recorder.dones())[job.task.id] == 1


def test_stop_returns_the_unstarted_jobs(executor: ThreadExecutor, recorder: EventRecorder) -> None:
    running, queued = make_job("cooperative", timeout=60), [make_job("noop"), make_job("noop")]
    executor.submit([running, *queued], FUNCTIONS)
    recorder.wait_event(running, JobProgress)
    assert executor.stop(timeout=0.2) == queued
    crashed = recorder.outcome(running, timeout=0)
    assert isinstance(crashed, Crashed) and "abandoned" in crashed.reason
    with pytest.raises(RuntimeError):
        executor.submit([make_job("noop")], FUNCTIONS)


def test_stop_waits_for_the_running_job(executor: ThreadExecutor, recorder: EventRecorder) -> None:
    job = make_job("block")
    executor.submit([job], FUNCTIONS)
    recorder.wait_event(job, JobProgress)
    threading.Timer(0.1, tf.RELEASE.set).start()
    assert executor.stop(timeout=60) == []
    assert recorder.outcome(job, timeout=0) == Succeeded({"released": True})
