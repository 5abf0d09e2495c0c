"""Every create goes through the same rules: ``ctx.create_task`` from a running task, what
``validate`` sees, client-only nodes. The memory store, tasks run inline, time moved by hand."""

from __future__ import annotations

from typing import Any

import pytest

import actors
from actors import ManualClock, TaskStatus, TaskWorker, ValidationError

START = 1_700_000_000.0


def echo(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
    return dict(options)


def test_the_chained_id_is_in_the_store_when_create_task_returns(sup: actors.Supervisor) -> None:
    seen: dict[str, Any] = {}

    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        child_id: str = ctx.create_task("CHILD", metadata={"n": 1}, tags=iter(["a", "a", "b"]))
        seen["child"] = sup.get_task(child_id)  # from inside the attempt, before it returns
        return child_id

    sup.register_task_worker(TaskWorker("PARENT", parent))
    sup.register_task_worker(TaskWorker("CHILD", echo))
    child_id = sup.wait(sup.create_task("PARENT"), timeout=10)
    stored = seen["child"]
    assert stored is not None and stored.id == child_id
    assert (stored.name, stored.metadata, stored.tags) == ("CHILD", {"n": 1}, ("a", "b"))
    assert sup.wait(child_id, timeout=10) == {"n": 1}


def test_a_chained_task_gets_its_workers_defaults(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("PARENT", lambda ctx, options, task: [
        ctx.create_task("CHILD"), ctx.create_task("CHILD", priority="low", queue="mine")]))
    sup.register_task_worker(TaskWorker("CHILD", echo, priority="high", queue="emails"))
    defaulted, given = sup.wait(sup.create_task("PARENT"), timeout=10)
    tasks = {task.id: task for task in sup.get_tasks(name="CHILD")}
    assert (tasks[defaulted].priority, tasks[defaulted].queue) == ("high", "emails")
    assert (tasks[given].priority, tasks[given].queue) == ("low", "mine")


def _strict(ctx: actors.ValidateContext, options: dict[str, Any]) -> bool:
    return "to" in options


def test_a_chained_task_its_worker_refuses_raises_in_the_parent_and_stores_nothing(
        sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
        try:
            ctx.create_task("STRICT", metadata={"subject": "hi"})
        except ValidationError as exc:
            return {"type": type(exc).__name__, "field": exc.field, "message": str(exc)}
        return {"type": None}

    sup.register_task_worker(TaskWorker("PARENT", parent))
    sup.register_task_worker(TaskWorker("STRICT", echo, validate=_strict))
    refused = sup.wait(sup.create_task("PARENT"), timeout=10)
    assert refused["type"] == "ValidationError" and refused["field"] == "metadata"
    assert "rejected by STRICT.validate" in refused["message"]
    assert sup.get_tasks(name="STRICT") == []


def test_an_uncaught_refusal_fails_the_parents_attempt(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("PARENT", lambda ctx, options, task: ctx.create_task("STRICT")))
    sup.register_task_worker(TaskWorker("STRICT", echo, validate=_strict))
    parent_id = sup.create_task("PARENT")
    with pytest.raises(actors.TaskFailed, match=r"ValidationError: .*rejected by STRICT\.validate"):
        sup.wait(parent_id, timeout=10)
    assert sup.get_tasks(name="STRICT") == []


def test_a_bad_field_of_a_chained_task_raises_in_the_parent(sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> list[str]:
        fields = []
        for bad in ({"priority": "urgent"}, {"colour": "red"}, {"delay": -1}):
            try:
                ctx.create_task("CHILD", **bad)
            except ValidationError as exc:
                fields.append(exc.field)
        return fields

    sup.register_task_worker(TaskWorker("PARENT", parent))
    assert sup.wait(sup.create_task("PARENT"), timeout=10) == ["priority", "colour", "delay"]
    assert sup.get_tasks(name="CHILD") == []


def test_validate_receives_a_validate_context(sup: actors.Supervisor) -> None:
    calls: list[actors.ValidateContext] = []

    def validate(ctx: actors.ValidateContext, options: dict[str, Any]) -> bool:
        calls.append(ctx)
        assert ctx.supervisor.get_task("no-such-task") is None  # the handle works from here
        return True

    sup.register_task_worker(TaskWorker("CHECKED", echo, validate=validate, priority="low"))
    sup.register_task_worker(TaskWorker("PARENT", lambda ctx, options, task: ctx.create_task("CHECKED")))
    direct = sup.create_task("CHECKED", metadata={"x": 1})
    parent_id = sup.create_task("PARENT")
    chained = sup.wait(parent_id, timeout=10)
    first, second = calls
    assert isinstance(first, actors.ValidateContext)
    assert (first.name, first.task.id, first.task.metadata, first.task.priority) == ("CHECKED", direct, {"x": 1},
                                                                                      "low")
    assert first.supervisor is sup and first.parent_id is None
    assert (second.task.id, second.parent_id, second.supervisor) == (chained, parent_id, sup)
    with pytest.raises(AttributeError):
        first.name = "OTHER"  # type: ignore[misc]  # frozen


def test_a_client_only_node_validates_with_its_registered_worker_and_never_runs_it(clock: ManualClock) -> None:
    ran: list[str] = []

    def execute(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
        ran.append(task.id)

    with actors.Supervisor.start("memory://", workers=0, clock=clock) as client:
        client.register_task_worker(TaskWorker("MAIL", execute, validate=_strict, priority="high", queue="mail"))
        with pytest.raises(ValidationError, match=r"rejected by MAIL\.validate"):
            client.create_task("MAIL", metadata={"subject": "no recipient"})
        assert client.get_tasks() == []
        task_id = client.create_task("MAIL", metadata={"to": "a@example.com"})
        clock.advance(60)
        client.tick()
        task = client.get_task(task_id)
        assert task is not None
        assert (task.status, task.priority, task.queue, task.attempts) == (TaskStatus.PENDING, "high", "mail", 0)
    assert ran == []
