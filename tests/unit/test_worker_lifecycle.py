"""Hooks, catch_error, AbortTask, global hooks, input schema, definition metadata and periodic
workers on an inline node (memory store, manual clock: nothing sleeps)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pydantic
import pytest

import actors
from actors import ManualClock, Retry, TaskStatus, TaskWorker
from actors.context import TaskContext
from actors.testing import inline_supervisor
from tests.unit.conftest import START


def boom(ctx: TaskContext, options: Any, task: actors.Task) -> None:
    raise RuntimeError(f"boom {ctx.attempt}")


def test_catch_error_false_fails_at_once_despite_the_policy(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("NO_RETRY", boom, retry=Retry(max_attempts=5),
                                        catch_error=lambda ctx, options, error: False))
    task_id = sup.create_task("NO_RETRY")
    with pytest.raises(actors.TaskFailed):
        sup.wait(task_id, timeout=10)
    task = sup.get_task(task_id)
    assert task is not None and (task.status, task.attempts) == (TaskStatus.FAILED, 1)


def test_catch_error_seconds_sets_the_retry_delay(sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("LATER", boom, retry=Retry(max_attempts=3, min_delay=1, jitter=False),
                                        catch_error=lambda ctx, options, error: 30))
    task_id = sup.create_task("LATER")
    sup.join(timeout=10)
    task = sup.get_task(task_id)
    assert task is not None and task.status is TaskStatus.PENDING
    assert task.run_at is not None and task.run_at.timestamp() == START + 30


def test_abort_task_fails_now_with_no_retry(sup: actors.Supervisor) -> None:
    def execute(ctx: TaskContext, options: Any, task: actors.Task) -> None:
        raise actors.AbortTask("the account is closed")

    sup.register_task_worker(TaskWorker("ABORTS", execute, retry=Retry(max_attempts=5)))
    task_id = sup.create_task("ABORTS")
    with pytest.raises(actors.TaskFailed, match="the account is closed"):
        sup.wait(task_id, timeout=10)
    assert sup.get_task(task_id).attempts == 1  # type: ignore[union-attr]


def test_on_failure_runs_only_once_the_retries_are_spent(sup: actors.Supervisor, clock: ManualClock) -> None:
    failures: list[int] = []
    sup.register_task_worker(TaskWorker("FAILS", boom, retry=Retry(max_attempts=2, min_delay=5, jitter=False),
                                        on_failure=lambda ctx, options, error: failures.append(ctx.attempt)))
    task_id = sup.create_task("FAILS")
    sup.join(timeout=10)
    assert failures == []
    clock.advance(5)
    sup.tick()
    with pytest.raises(actors.TaskFailed):
        sup.wait(task_id, timeout=10)
    assert failures == [2]


def test_a_failing_hook_leaves_a_log_line_with_the_attempt(sup: actors.Supervisor) -> None:
    def broken(ctx: TaskContext, options: Any, result: Any) -> None:
        raise LookupError("no such channel")

    sup.register_task_worker(TaskWorker("NOTIFY", lambda ctx, options, task: "sent", on_success=broken))
    task_id = sup.create_task("NOTIFY")
    assert sup.wait(task_id, timeout=10) == "sent"
    [record] = sup.logs(task_id)
    assert record.attempt == 1 and record.level == "ERROR"
    assert "NOTIFY.on_success raised LookupError: no such channel" in record.message


def test_global_hooks_reach_only_the_attempts_that_start_after_the_call(sup: actors.Supervisor) -> None:
    seen: list[tuple[str, str]] = []
    sup.register_task_worker(TaskWorker("ADD", lambda ctx, options, task: options["n"] + 1))
    first = sup.create_task("ADD", metadata={"n": 1})
    assert sup.wait(first, timeout=10) == 2
    sup.on("success", lambda ctx, options, result: seen.append(("success", ctx.task.id)))
    sup.on("complete", lambda ctx, options, outcome: seen.append(("complete", ctx.task.id)))
    sup.use(lambda ctx, options, call_next: call_next() * 10)
    second = sup.create_task("ADD", metadata={"n": 1})
    assert sup.wait(second, timeout=10) == 20
    assert seen == [("success", second), ("complete", second)]


@pytest.mark.parametrize(("event", "fn"), [("done", print), ("start", 42)])
def test_a_bad_global_hook_is_refused(sup: actors.Supervisor, event: str, fn: Any) -> None:
    with pytest.raises(actors.ValidationError):
        sup.on(event, fn)


def test_use_refuses_what_is_not_callable(sup: actors.Supervisor) -> None:
    with pytest.raises(actors.ValidationError, match="fn"):
        sup.use("not a function")  # type: ignore[arg-type]


# --- input schema ---------------------------------------------------------------------------


class Signup(pydantic.BaseModel):
    email: str
    age: int
    joined: date = date(2026, 1, 1)


def test_a_model_schema_refuses_a_bad_field_and_stores_nothing(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("SIGNUP", lambda ctx, options, task: None, schema=Signup))
    with pytest.raises(actors.ValidationError) as refused:
        sup.create_task("SIGNUP", metadata={"email": "a@b.c", "age": "old"})
    assert refused.value.field == "age" and "'old'" in str(refused.value)
    assert sup.get_tasks() == []


def test_a_model_schema_stores_the_json_dump_and_execute_gets_the_model(sup: actors.Supervisor) -> None:
    def execute(ctx: TaskContext, options: Any, task: actors.Task) -> Any:
        assert isinstance(options, Signup)
        return {"email": options.email, "next_year": options.age + 1}

    sup.register_task_worker(TaskWorker("SIGNUP", execute, schema=Signup))
    task_id = sup.create_task("SIGNUP", metadata={"email": "a@b.c", "age": "41"})
    assert sup.get_task(task_id).metadata == {"email": "a@b.c", "age": 41,  # type: ignore[union-attr]
                                              "joined": "2026-01-01"}
    assert sup.wait(task_id, timeout=10) == {"email": "a@b.c", "next_year": 42}


def test_a_callable_schema_checks_and_cleans_the_metadata(sup: actors.Supervisor) -> None:
    def schema(options: dict[str, Any]) -> dict[str, Any]:
        if "url" not in options:
            raise actors.ValidationError("url", None, "is required")
        return {"url": options["url"].strip()}

    sup.register_task_worker(TaskWorker("FETCH", lambda ctx, options, task: options["url"], schema=schema))
    with pytest.raises(actors.ValidationError, match="url"):
        sup.create_task("FETCH", metadata={})
    with pytest.raises(actors.ValidationError, match="url"):
        sup.create_tasks([{"name": "FETCH", "metadata": {"url": " x "}}, {"name": "FETCH"}])
    assert sup.get_tasks() == []
    task_id = sup.create_task("FETCH", metadata={"url": "  https://example.org "})
    assert sup.wait(task_id, timeout=10) == "https://example.org"


def test_a_client_only_node_validates_against_the_schema() -> None:
    with actors.Supervisor.start("memory://", workers=0) as client:
        client.register_task_worker(TaskWorker("SIGNUP", lambda ctx, options, task: None, schema=Signup))
        with pytest.raises(actors.ValidationError, match="email"):
            client.create_task("SIGNUP", metadata={"age": 3})
        assert client.get_tasks() == []


def test_ctx_create_task_validates_against_the_childs_schema(sup: actors.Supervisor) -> None:
    def parent(ctx: TaskContext, options: Any, task: actors.Task) -> str:
        try:
            ctx.create_task("SIGNUP", metadata={"email": "x", "age": "many"})
        except actors.ValidationError as exc:
            return exc.field
        return "created"

    sup.register_task_worker(TaskWorker("SIGNUP", lambda ctx, options, task: None, schema=Signup))
    sup.register_task_worker(TaskWorker("PARENT", parent))
    assert sup.wait(sup.create_task("PARENT"), timeout=10) == "age"
    assert sup.get_tasks(name="SIGNUP") == []


def test_a_bad_schema_is_refused() -> None:
    with pytest.raises(actors.ValidationError, match="schema"):
        TaskWorker("X", print, schema=42)


# --- definition metadata and periodic workers ------------------------------------------------


def test_title_description_and_private_are_listed(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("PUBLIC", print, title="Public", description="Shown everywhere"))
    sup.register_task_worker(TaskWorker("HIDDEN", print, private=True))
    listed = sup.workers()
    assert [(w["name"], w["title"], w["description"], w["private"]) for w in listed] == [
        ("HIDDEN", None, None, True), ("PUBLIC", "Public", "Shown everywhere", False)]
    assert [w["name"] for w in sup.workers(private=False)] == ["PUBLIC"]


@pytest.mark.parametrize(("field", "value"), [("title", 3), ("description", ["x"]), ("private", "yes"),
                                              ("frequency", -1), ("cron", "not cron"), ("middleware", print),
                                              ("on_success", "x"), ("catch_error", 1)])
def test_bad_definition_fields_are_refused_by_name(field: str, value: Any) -> None:
    with pytest.raises(actors.ValidationError) as refused:
        TaskWorker("X", print, **{field: value})
    assert refused.value.field.startswith(field)


def test_frequency_and_cron_together_are_refused() -> None:
    with pytest.raises(actors.ValidationError, match="not both"):
        TaskWorker("X", print, frequency=60, cron="* * * * *")


def test_a_periodic_worker_ensures_one_schedule_keyed_by_its_name(sup: actors.Supervisor) -> None:
    worker = TaskWorker("CLEANUP", print, frequency=300)
    first = sup.register_task_worker(worker)
    assert first is worker
    [schedule] = sup.get_schedules()
    assert (schedule.key, schedule.name, schedule.every) == ("CLEANUP", "CLEANUP", 300.0)
    sup.register_task_worker(TaskWorker("CLEANUP", print, frequency=300))
    assert sup.get_schedules() == [schedule]  # the same row, its next fire time kept
    sup.register_task_worker(TaskWorker("CLEANUP", print, cron="0 * * * *"))
    [changed] = sup.get_schedules()
    assert (changed.key, changed.cron, changed.every) == ("CLEANUP", "0 * * * *", None)


def test_a_periodic_worker_creates_its_tasks_when_due(clock: ManualClock) -> None:
    node = inline_supervisor(clock=clock)
    try:
        node.register_task_worker(TaskWorker("TICK", lambda ctx, options, task: "ticked", frequency=60))
        clock.advance(61)
        node.tick()
        node.join(timeout=10)
        assert [task.result for task in node.get_tasks(name="TICK")] == ["ticked"]
    finally:
        node.stop()
