"""TaskContext, TaskLogger and run_attempt: events, validation, timing, outcomes (no processes, no sleeps)."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from actors import ActorsError, ManualClock, ValidationError
from actors.attempt import run_attempt
from actors.context import TaskContext, outcome_of
from actors.messages import ExecutorEvent, Job, JobLog, JobMetadata, JobProgress
from actors.models import Raised, Succeeded, Task

START = 1_700_000_000.0


class Creates:
    """A ``Creator`` that records what it is asked and answers ids ``child-1``, ``child-2``, ..."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, parent_id: str, spec: dict[str, Any]) -> str:
        self.calls.append((parent_id, spec))
        return spec.get("id") or f"child-{len(self.calls)}"


def make_ctx(*, timeout: float | None = None, metadata: dict[str, Any] | None = None,
             clock: ManualClock | None = None, aborted: threading.Event | None = None,
             create: Callable[[str, dict[str, Any]], str] | None = None) -> tuple[TaskContext, list[ExecutorEvent]]:
    events: list[ExecutorEvent] = []
    task = Task(id="t-1", name="WORK", metadata=dict(metadata or {}))
    job = Job(task, "tok", 3, timeout)
    ctx = TaskContext(job, events.append, create=create, aborted=aborted, clock=clock or ManualClock(START))
    return ctx, events


# --- the basics --------------------------------------------------------------------------


def test_task_attempt_and_metadata_come_from_the_job() -> None:
    ctx, events = make_ctx(metadata={"a": 1}, timeout=9.0)
    assert (ctx.task.id, ctx.task.name, ctx.attempt, ctx.timeout) == ("t-1", "WORK", 3, 9.0)
    assert ctx.metadata == {"a": 1}
    ctx.metadata["a"] = 2  # a copy
    assert ctx.task.metadata == {"a": 1} and events == []


@pytest.mark.parametrize("value", [0, 42, 99.5, 100])
def test_progress_emits_a_float(value: float) -> None:
    ctx, events = make_ctx()
    ctx.progress(value)
    assert events == [JobProgress("t-1", "tok", float(value))]


@pytest.mark.parametrize("value", [-1, 100.5, math.nan, math.inf, True, "50", None])
def test_bad_progress_raises_naming_progress(value: Any) -> None:
    ctx, events = make_ctx()
    with pytest.raises(ValidationError) as info:
        ctx.progress(value)
    assert info.value.field == "progress" and events == []


def test_set_metadata_merges_locally_and_emits_only_the_change() -> None:
    ctx, events = make_ctx(metadata={"keep": 1, "step": 0})
    ctx.set_metadata(step=2, extra=[1, "x"])
    assert events == [JobMetadata("t-1", "tok", {"step": 2, "extra": [1, "x"]})]
    assert ctx.metadata == ctx.task.metadata == {"keep": 1, "step": 2, "extra": [1, "x"]}
    ctx.set_metadata()
    assert len(events) == 1  # nothing to say


def test_set_metadata_refuses_what_is_not_json() -> None:
    ctx, events = make_ctx()
    with pytest.raises(ValidationError, match=r"metadata\['bad'\]"):
        ctx.set_metadata(ok=1, bad={1, 2})
    assert events == [] and ctx.metadata == {}


# --- chained tasks ------------------------------------------------------------------------


def test_create_task_checks_the_spec_and_asks_the_creator() -> None:
    creates = Creates()
    ctx, events = make_ctx(create=creates)
    child_id = ctx.create_task("NEXT", metadata={"n": 1}, tags=(t for t in ["x", "x", "y"]),
                               delay=timedelta(seconds=3), priority="high")
    assert child_id == "child-1" and events == []
    assert creates.calls == [("t-1", {"name": "NEXT", "metadata": {"n": 1}, "tags": ["x", "y"],
                                      "delay": timedelta(seconds=3), "priority": "high"})]
    assert ctx.create_task("NEXT", id="chosen") == "chosen"
    assert creates.calls[1] == ("t-1", {"name": "NEXT", "id": "chosen"})


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"priority": "urgent"}, "priority"),
    ({"metadata": {"x": object()}}, "metadata['x']"),
    ({"delay": -1}, "delay"),
    ({"colour": "red"}, "colour"),
    ({"id": ""}, "id"),
])
def test_create_task_with_a_bad_spec_raises_in_the_task(kwargs: dict[str, Any], field: str) -> None:
    creates = Creates()
    ctx, events = make_ctx(create=creates)
    with pytest.raises(ValidationError) as info:
        ctx.create_task("NEXT", **kwargs)
    assert info.value.field == field and events == [] and creates.calls == []


def test_create_task_refuses_a_bad_name() -> None:
    ctx, _ = make_ctx(create=Creates())
    with pytest.raises(ValidationError, match="name"):
        ctx.create_task("  ")


def test_create_task_passes_on_what_the_creator_raises() -> None:
    def refuse(parent_id: str, spec: dict[str, Any]) -> str:
        raise ValidationError("metadata", spec.get("metadata"), "rejected by NEXT.validate")

    ctx, _ = make_ctx(create=refuse)
    with pytest.raises(ValidationError, match=r"rejected by NEXT\.validate"):
        ctx.create_task("NEXT", metadata={"a": 1})


def test_create_task_without_a_creator_raises_an_actors_error() -> None:
    ctx, _ = make_ctx()
    with pytest.raises(ActorsError, match="without a way to create tasks"):
        ctx.create_task("NEXT")


# --- abort and time -----------------------------------------------------------------------


def test_is_aborted_follows_the_flag() -> None:
    flag = threading.Event()
    ctx, _ = make_ctx(aborted=flag)
    assert not ctx.is_aborted()
    flag.set()
    assert ctx.is_aborted()


def test_remaining_seconds_and_close_to_timeout_read_the_clock() -> None:
    clock = ManualClock(START)
    ctx, _ = make_ctx(timeout=30.0, clock=clock)
    assert ctx.remaining_seconds() == 30.0 and not ctx.is_close_to_timeout()
    clock.advance(26)
    assert ctx.remaining_seconds() == 4.0
    assert ctx.is_close_to_timeout() and not ctx.is_close_to_timeout(seconds=3)
    clock.advance(100)
    assert ctx.remaining_seconds() == 0.0


def test_without_a_timeout_nothing_is_close() -> None:
    ctx, _ = make_ctx()
    assert ctx.remaining_seconds() is None and ctx.is_close_to_timeout(seconds=1e9) is False


# --- the log --------------------------------------------------------------------------------


def test_log_records_become_job_logs() -> None:
    clock = ManualClock(START)
    ctx, events = make_ctx(clock=clock)
    ctx.log.info("fetched %d rows from %s", 3, "crm")
    clock.advance(1)
    ctx.log.warning("%(n)s left", {"n": 2})
    ctx.log.debug("plain %s")  # no args: no formatting
    assert events == [
        JobLog("t-1", "tok", 3, START, "INFO", "fetched 3 rows from crm"),
        JobLog("t-1", "tok", 3, START + 1, "WARNING", "2 left"),
        JobLog("t-1", "tok", 3, START + 1, "DEBUG", "plain %s"),
    ]


def test_log_exception_carries_the_traceback_and_levels_filter() -> None:
    ctx, events = make_ctx()
    try:
        raise KeyError("missing")
    except KeyError:
        ctx.log.exception("lookup failed")
    ctx.log.setLevel("WARNING")
    ctx.log.info("dropped")
    ctx.log.log(logging.CRITICAL, "kept %s", "!")
    assert [(e.level, e.message.splitlines()[0]) for e in events if isinstance(e, JobLog)] == [
        ("ERROR", "lookup failed"), ("CRITICAL", "kept !")]
    first = events[0]
    assert isinstance(first, JobLog) and "KeyError: 'missing'" in first.message
    assert ctx.log.isEnabledFor(logging.ERROR) and not ctx.log.isEnabledFor(logging.INFO)


def test_a_bad_format_keeps_the_record() -> None:
    ctx, events = make_ctx()
    ctx.log.error("%d items", "many")
    assert [e.message for e in events if isinstance(e, JobLog)] == ["%d items 'many'"]


def test_logs_of_two_tasks_never_mix_and_nothing_is_registered() -> None:
    before = dict(logging.Logger.manager.loggerDict)
    one, one_events = make_ctx()
    two_events: list[ExecutorEvent] = []
    two = TaskContext(Job(Task(id="t-2", name="WORK"), "tok2", 1, None), two_events.append)
    one.log.info("from one")
    two.log.info("from two")
    assert [e.message for e in one_events if isinstance(e, JobLog)] == ["from one"]
    assert [(e.task_id, e.message) for e in two_events if isinstance(e, JobLog)] == [("t-2", "from two")]
    assert logging.Logger.manager.loggerDict == before


# --- run_attempt and outcome_of -------------------------------------------------------------


def test_run_attempt_passes_ctx_options_and_task() -> None:
    ctx, _ = make_ctx(metadata={"x": 1})
    seen: list[Any] = []

    def execute(c: TaskContext, options: dict[str, Any], task: Task) -> tuple[int, str]:
        seen.append((c, options, task))
        return (1, "a")

    assert run_attempt(execute, ctx) == Succeeded([1, "a"])  # JSON's view of the result
    assert seen == [(ctx, {"x": 1}, ctx.task)]


def test_run_attempt_runs_coroutines() -> None:
    ctx, _ = make_ctx()

    async def execute(c: TaskContext, options: dict[str, Any], task: Task) -> dict[str, int]:
        return {"n": 1}

    assert run_attempt(execute, ctx) == Succeeded({"n": 1})


@pytest.mark.parametrize(("error", "kind", "message"), [
    (ValueError("bad"), "ValueError", "bad"),
    (SystemExit(3), "SystemExit", "3"),
])
def test_run_attempt_turns_exceptions_into_raised(error: BaseException, kind: str, message: str) -> None:
    ctx, _ = make_ctx()

    def execute(c: TaskContext, options: dict[str, Any], task: Task) -> None:
        raise error

    outcome = run_attempt(execute, ctx)
    assert isinstance(outcome, Raised) and (outcome.type, outcome.message) == (kind, message)
    assert "in execute" in outcome.traceback and "in run_attempt" not in outcome.traceback


@pytest.mark.parametrize("value", [{"x": object()}, math.nan, {1, 2}, b"bytes"])
def test_a_result_that_is_not_json_is_raised(value: Any) -> None:
    outcome = outcome_of(value)
    assert isinstance(outcome, Raised) and outcome.type == "TypeError"
    assert outcome.message.startswith("result is not JSON-serialisable")


@pytest.mark.parametrize(("ms", "seconds"), [(1500, 1.5), (0.5, 0.0005), (None, None)])
def test_next_interval_becomes_seconds(ms: Any, seconds: float | None) -> None:
    assert outcome_of({"nextInterval": ms, "k": 1}) == Succeeded({"nextInterval": ms, "k": 1}, seconds)


@pytest.mark.parametrize("ms", [0, -5, "1000", True])
def test_a_bad_next_interval_is_an_error(ms: Any) -> None:
    outcome = outcome_of({"nextInterval": ms})
    assert isinstance(outcome, Raised) and "TASK_ADAPTIVE_INTERVAL_INVALID" in outcome.message
