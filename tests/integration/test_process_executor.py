"""ProcessExecutor with real ``spawn`` children: results, events, crashes, timeouts, aborts, stop."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psutil
import pytest

from actors.errors import ActorsError, ValidationError
from actors.execution.process import ChildStartError, ProcessExecutor, guard
from actors.execution.process import executor as executor_module
from actors.messages import (
    JobDone,
    JobLog,
    JobMetadata,
    JobProgress,
    JobStarted,
)
from actors.models import Cancelled, Crashed, Raised, Succeeded, TimedOut
from tests.helpers import Creates, EventRecorder, eventually, make_job
from tests.integration import task_functions as tf

pytestmark = pytest.mark.timeout(180)

FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(tf, name)
    for name in ("noop", "echo", "whoami", "async_whoami", "boom", "not_json", "next_interval", "chatty",
                 "chain", "modules", "threads", "exit3", "sleeper", "grandchild_sleeper", "cooperative", "timing")
}

Make = Callable[..., tuple[ProcessExecutor, EventRecorder]]


@pytest.fixture
def creates() -> Creates:
    return Creates()


@pytest.fixture
def make(creates: Creates) -> Iterator[Make]:
    """Build executors (with a recorder each, all with the ``creates`` Creator); every one is
    stopped at teardown."""
    built: list[ProcessExecutor] = []

    def build(**options: Any) -> tuple[ProcessExecutor, EventRecorder]:
        recorder = EventRecorder()
        options.setdefault("create", creates)
        executor = ProcessExecutor(recorder, **options)
        built.append(executor)
        return executor, recorder

    yield build
    for executor in built:
        executor.stop(5.0)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# --- results ------------------------------------------------------------------------------


def test_a_job_returns_its_result_and_the_child_stays(make: Make) -> None:
    executor, events = make()
    pid = executor.pid
    job = make_job("echo", metadata={"x": [1, 2]}, attempt=2)
    executor.submit([job], FUNCTIONS)
    assert events.outcome(job) == Succeeded({"options": {"x": [1, 2]}, "attempt": 2, "name": "echo"})
    assert pid is not None and executor.pid == pid and psutil.Process(pid).is_running()


def test_an_async_def_worker_runs_in_the_child(make: Make) -> None:
    executor, events = make()
    job = make_job("async_whoami")
    executor.submit([job], FUNCTIONS)
    assert events.outcome(job) == Succeeded({"async": True, "pid": executor.pid})


def test_an_exception_becomes_raised_with_its_traceback(make: Make) -> None:
    executor, events = make()
    job = make_job("boom", metadata={"why": "bad input"})
    executor.submit([job], FUNCTIONS)
    outcome = events.outcome(job)
    assert isinstance(outcome, Raised)
    assert (outcome.type, outcome.message) == ("ValueError", "boom: bad input")
    assert "in boom" in outcome.traceback and "ValueError: boom: bad input" in outcome.traceback


def test_a_result_that_is_not_json_is_raised(make: Make) -> None:
    executor, events = make()
    job = make_job("not_json")
    executor.submit([job], FUNCTIONS)
    outcome = events.outcome(job)
    assert isinstance(outcome, Raised) and outcome.type == "TypeError"
    assert outcome.message.startswith("result is not JSON-serialisable")


def test_next_interval_in_the_result_sets_the_next_run(make: Make) -> None:
    executor, events = make()
    job = make_job("next_interval")
    executor.submit([job], FUNCTIONS)
    assert events.outcome(job) == Succeeded({"nextInterval": 1500, "checked": True}, next_interval=1.5)


def test_events_arrive_in_call_order_before_the_job_ends(make: Make, creates: Creates) -> None:
    executor, events = make()
    job = make_job("chatty", timeout=60)
    executor.submit([job], FUNCTIONS)
    done = events.outcome(job)
    seen = events.of(job.task.id)
    assert [type(e) for e in seen] == [JobStarted, JobProgress, JobMetadata, JobLog, JobProgress, JobDone]
    assert all(e.token == job.token for e in seen)
    log = seen[3]
    assert isinstance(log, JobLog)
    assert (log.level, log.message, log.attempt) == ("INFO", "step 1 of chatty", 1)
    assert creates.calls == [(job.task.id, {"name": "CHILD", "metadata": {"parent": job.task.id},
                                            "delay": timedelta(seconds=5), "tags": ["a"]})]
    assert done == Succeeded({"child": "child-1", "metadata": {"step": 1}})


def test_create_task_in_the_child_waits_for_the_parents_answer(make: Make, creates: Creates) -> None:
    executor, events = make()
    jobs = [make_job("chain", metadata=metadata) for metadata in ({"n": 1}, {"refuse": 1}, {"store_down": 1})]
    executor.submit(jobs, FUNCTIONS)
    created, refused, down = (events.outcome(job) for job in jobs)
    assert created == Succeeded({"id": "child-1"})
    assert refused == Succeeded({"type": "ValidationError", "field": "metadata",
                                 "message": "metadata={'refuse': 1}: rejected by CHILD.validate"})
    assert down == Succeeded({"type": "StoreError", "field": None, "message": "the store is down"})
    assert creates.calls == [(jobs[0].task.id, {"name": "CHILD", "metadata": {"n": 1}})]


def test_create_task_without_a_creator_raises_an_actors_error_in_the_child(make: Make) -> None:
    executor, events = make(create=None)
    job = make_job("chain")
    executor.submit([job], FUNCTIONS)
    outcome = events.outcome(job)
    assert isinstance(outcome, Succeeded) and outcome.result["type"] == ActorsError.__name__
    assert "without a Creator" in outcome.result["message"]


def test_the_child_does_not_import_pykka_or_psutil(make: Make) -> None:
    executor, events = make()
    job = make_job("modules")
    executor.submit([job], FUNCTIONS)
    assert events.outcome(job) == Succeeded({"pykka": False, "psutil": False})


def test_one_io_thread_serves_every_child_and_a_child_runs_its_tasks_on_one_thread(make: Make) -> None:
    built = [make() for _ in range(3)]
    jobs = [make_job("threads", timeout=60) for _ in built]
    for (executor, _), job in zip(built, jobs, strict=True):
        executor.submit([job], FUNCTIONS)
    for (_, events), job in zip(built, jobs, strict=True):
        # the main thread runs the task; the other only waits for this process's death
        assert events.outcome(job) == Succeeded(["MainThread", "actors-child-orphan"])
    serving = [t.name for t in threading.enumerate()
               if t.name.startswith(("actors-executor", "actors-process")) and t.name != "actors-process-helper"]
    assert serving == ["actors-process-io"]


def test_a_job_that_reports_progress_starts_the_childs_flusher(make: Make) -> None:
    executor, events = make()
    job, after = make_job("sleeper", metadata={"seconds": 0.05}), make_job("threads")
    executor.submit([job, after], FUNCTIONS)
    assert events.outcome(after) == Succeeded(["MainThread", "actors-child-flusher", "actors-child-orphan"])


def test_timing_helpers_see_the_timeout(make: Make) -> None:
    executor, events = make()
    job = make_job("timing", timeout=120)
    executor.submit([job], FUNCTIONS)
    outcome = events.outcome(job)
    assert isinstance(outcome, Succeeded)
    assert 60 < outcome.result["remaining"] <= 120 and outcome.result["close"] is True


def test_a_function_is_shipped_again_when_it_changes(make: Make) -> None:
    executor, events = make()
    first, second = make_job("SAME"), make_job("SAME")
    executor.submit([first], {"SAME": tf.echo})
    assert isinstance(events.outcome(first), Succeeded)
    executor.submit([second], {"SAME": tf.whoami})
    assert events.outcome(second) == Succeeded({"pid": executor.pid, "thread": "MainThread"})


def test_a_local_function_travels_by_value(make: Make) -> None:
    executor, events = make()
    factor = 7

    def times(ctx: Any, options: dict[str, Any], task: Any) -> int:
        return factor * int(options["n"])

    job = make_job("TIMES", metadata={"n": 6})
    executor.submit([job], {"TIMES": times})
    assert events.outcome(job) == Succeeded(42)


def test_unknown_and_unpicklable_functions_are_refused(make: Make) -> None:
    executor, events = make()
    lock = threading.Lock()

    def holds_a_lock(ctx: Any, options: dict[str, Any], task: Any) -> bool:
        return lock.locked()

    unknown, unpicklable, fine = make_job("NOBODY"), make_job("LOCKED"), make_job("noop")
    executor.submit([unknown, unpicklable, fine], {**FUNCTIONS, "LOCKED": holds_a_lock})
    refused = events.outcome(unknown)
    assert isinstance(refused, Raised) and refused.type == "UnknownWorker"
    failed = events.outcome(unpicklable)
    assert isinstance(failed, Raised) and "lock" in failed.message
    assert events.outcome(fine) == Succeeded(None)


# --- crashes ------------------------------------------------------------------------------


def test_os_exit_mid_batch_crashes_that_job_only(make: Make) -> None:
    executor, events = make()
    old_pid = executor.pid
    before = [make_job("noop"), make_job("whoami")]
    crasher = make_job("exit3")
    after = [make_job("whoami"), make_job("whoami")]
    executor.submit([*before, crasher, *after], FUNCTIONS)

    crashed = events.outcome(crasher)
    assert isinstance(crashed, Crashed) and crashed.exitcode == 3 and "code 3" in crashed.reason
    results = [events.outcome(job) for job in after]
    assert all(isinstance(r, Succeeded) for r in results)
    new_pids = {r.result["pid"] for r in results if isinstance(r, Succeeded)}
    assert new_pids == {executor.pid} and old_pid not in new_pids
    assert all(isinstance(events.outcome(job), Succeeded) for job in before)
    submitted = [*before, crasher, *after]
    assert Counter(d.task_id for d in events.dones()) == Counter(j.task.id for j in submitted)
    assert eventually(lambda: gone(old_pid or 0))


def test_a_child_killed_from_outside_crashes_its_job(make: Make) -> None:
    executor, events = make()
    victim, queued = make_job("sleeper", metadata={"seconds": 60}), make_job("whoami")
    executor.submit([victim, queued], FUNCTIONS)
    events.wait_event(victim, JobProgress)
    old_pid = executor.pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)

    crashed = events.outcome(victim)
    assert isinstance(crashed, Crashed) and crashed.exitcode == -signal.SIGKILL
    assert "SIGKILL" in crashed.reason
    rerun = events.outcome(queued)
    assert isinstance(rerun, Succeeded) and rerun.result["pid"] not in (None, old_pid)


def test_a_timeout_kills_the_process_tree(make: Make) -> None:
    executor, events = make()
    old_pid = executor.pid
    job, later = make_job("grandchild_sleeper", timeout=0.5), make_job("whoami")
    executor.submit([job, later], FUNCTIONS)
    meta = events.wait_event(job, JobMetadata)
    grandchild = meta.values["grandchild"]
    assert meta.values["child"] == old_pid and psutil.pid_exists(grandchild)

    assert events.outcome(job, timeout=30) == TimedOut(0.5)
    assert eventually(lambda: gone(old_pid or 0) and gone(grandchild))
    rerun = events.outcome(later)
    assert isinstance(rerun, Succeeded) and rerun.result["pid"] == executor.pid != old_pid


def test_a_cooperative_job_times_out_without_a_kill(make: Make) -> None:
    executor, events = make(kill_grace=60)
    pid = executor.pid
    job = make_job("cooperative", timeout=0.3)
    executor.submit([job], FUNCTIONS)
    assert events.outcome(job) == TimedOut(0.3)
    assert executor.pid == pid
    follow = make_job("whoami")
    executor.submit([follow], FUNCTIONS)
    assert isinstance(events.outcome(follow), Succeeded)
    assert [type(e) for e in events.of(job.task.id)][-1] is JobDone


def test_a_child_frozen_under_its_job_is_killed_once_it_stops_reading(
        make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor_module, "_SEND_STALL", 0.3)
    executor, events = make()
    old_pid = executor.pid
    assert old_pid is not None
    blob = b"x" * (8 << 20)

    def freeze(ctx: Any, options: dict[str, Any], task: Any) -> None:
        os.kill(os.getpid(), signal.SIGSTOP)

    def big(ctx: Any, options: dict[str, Any], task: Any) -> int:
        return len(blob)

    frozen, later = make_job("FREEZE"), make_job("BIG")
    executor.submit([frozen], {"FREEZE": freeze})
    assert eventually(lambda: psutil.Process(old_pid).status() == psutil.STATUS_STOPPED)
    executor.submit([later], {"BIG": big})  # 8 MiB into a pipe nobody reads: returns after the stall
    crashed = events.outcome(frozen)
    assert isinstance(crashed, Crashed) and crashed.exitcode == -signal.SIGKILL
    assert crashed.reason == (f"the child process (pid {old_pid}) took nothing from its pipe for 0.3s "
                              "(stopped or frozen) and was killed")
    assert events.outcome(later) == Succeeded(8 << 20)
    assert executor.pid != old_pid and eventually(lambda: gone(old_pid))


# --- aborts -------------------------------------------------------------------------------


def test_abort_of_a_cooperative_job_cancels_it_without_a_kill(make: Make) -> None:
    executor, events = make()
    pid = executor.pid
    job = make_job("cooperative")
    executor.submit([job], FUNCTIONS)
    events.wait_event(job, JobProgress)
    assert executor.abort(job.task.id, grace=60) is True
    assert events.outcome(job) == Cancelled()
    assert executor.pid == pid
    follow = make_job("whoami")
    executor.submit([follow], FUNCTIONS)
    assert events.outcome(follow) == Succeeded({"pid": pid, "thread": "MainThread"})


def test_abort_of_a_job_that_ignores_it_kills_the_child_after_the_grace(make: Make) -> None:
    executor, events = make()
    old_pid = executor.pid
    job, queued = make_job("sleeper", metadata={"seconds": 60}), make_job("whoami")
    executor.submit([job, queued], FUNCTIONS)
    events.wait_event(job, JobProgress)
    assert executor.abort(job.task.id, grace=0.2) is True
    assert events.outcome(job) == Cancelled()
    rerun = events.outcome(queued)
    assert isinstance(rerun, Succeeded) and rerun.result["pid"] != old_pid
    assert eventually(lambda: gone(old_pid or 0))


def test_abort_of_a_queued_job_cancels_it_at_once(make: Make) -> None:
    executor, events = make()
    running, queued = make_job("cooperative"), make_job("noop")
    executor.submit([running, queued], FUNCTIONS)
    events.wait_event(running, JobProgress)
    assert executor.abort(queued.task.id, grace=0) is True
    assert events.outcome(queued) == Cancelled()
    assert not [e for e in events.dones() if e.task_id == running.task.id]  # still running
    assert executor.abort(running.task.id, grace=60) is True
    assert events.outcome(running) == Cancelled()
    assert executor.abort("no-such-task", grace=0) is False


# --- stop ---------------------------------------------------------------------------------


def test_stop_lets_the_running_job_finish_and_returns_the_unstarted(make: Make) -> None:
    executor, events = make()
    running = make_job("sleeper", metadata={"seconds": 0.3})
    queued = [make_job("noop") for _ in range(3)]
    executor.submit([running, *queued], FUNCTIONS)
    events.wait_event(running, JobProgress)
    pid = executor.pid

    assert executor.stop(timeout=60) == queued
    assert events.outcome(running, timeout=0) == Succeeded({"slept": True})
    assert executor.pid is None and eventually(lambda: gone(pid or 0))
    with pytest.raises(RuntimeError):
        executor.submit([make_job("noop")], FUNCTIONS)


def test_stop_kills_a_job_that_outlives_the_timeout(make: Make) -> None:
    executor, events = make()
    job = make_job("sleeper", metadata={"seconds": 60})
    executor.submit([job], FUNCTIONS)
    events.wait_event(job, JobProgress)
    assert executor.stop(timeout=0.2) == []
    crashed = events.outcome(job, timeout=0)
    assert isinstance(crashed, Crashed) and "stopped" in crashed.reason


# --- throughput and recycling -------------------------------------------------------------


def test_500_jobs_in_batches_each_end_exactly_once(make: Make) -> None:
    executor, events = make()
    jobs = [make_job("noop") for _ in range(500)]
    for start in range(0, 500, 50):
        executor.submit(jobs[start:start + 50], FUNCTIONS)
    dones = events.wait_done(500)
    assert Counter(d.task_id for d in dones) == Counter(j.task.id for j in jobs)
    assert {d.outcome for d in dones} == {Succeeded(None)}
    assert [d.task_id for d in dones] == [j.task.id for j in jobs]  # in order


def test_max_tasks_per_child_recycles_the_child(make: Make) -> None:
    executor, events = make(max_tasks_per_child=2)
    jobs = [make_job("whoami") for _ in range(5)]
    executor.submit(jobs, FUNCTIONS)
    pids = [events.outcome(job).result["pid"] for job in jobs]  # type: ignore[union-attr]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]


def test_rss_limit_recycles_the_child_between_jobs(make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    # the check after a job, on its own: the watch that samples a running job (and would kill
    # this one mid-run, every Python process being bigger than 1 MiB) is tested in tests/faults
    monkeypatch.setattr(guard, "RSS_SAMPLE_INTERVAL", 3600.0)
    executor, events = make(rss_limit_mb=1)  # every Python process is bigger
    first, second = make_job("whoami"), make_job("whoami")
    executor.submit([first], FUNCTIONS)
    one = events.outcome(first)
    executor.submit([second], FUNCTIONS)
    two = events.outcome(second)
    assert isinstance(one, Succeeded) and isinstance(two, Succeeded)
    assert one.result["pid"] != two.result["pid"]


# --- construction -------------------------------------------------------------------------


def test_a_child_that_cannot_start_in_time_raises_naming_the_cause() -> None:
    with pytest.raises(ChildStartError, match="not ready after"):
        ProcessExecutor(EventRecorder(), start_timeout=0.001)


@pytest.mark.parametrize("options", [{"rss_limit_mb": 0}, {"max_tasks_per_child": 0},
                                     {"kill_grace": -1}, {"start_timeout": "soon"}])
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ProcessExecutor(EventRecorder(), **options)
