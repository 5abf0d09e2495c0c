"""What ``validate`` sees, and client-only nodes that validate: the memory store, tasks run
inline, time moved by hand (no sleeps)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import actors
from actors import ManualClock, TaskStatus, TaskWorker, ValidationError
from actors.testing import inline_supervisor

START = 1_700_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sup(clock: ManualClock) -> Iterator[actors.Supervisor]:
    node = inline_supervisor(clock=clock, lease_ttl=30.0)
    yield node
    node.stop()


def echo(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
    return dict(options)


def _strict(ctx: actors.ValidateContext, options: dict[str, Any]) -> bool:
    return "to" in options


def test_validate_receives_a_validate_context(sup: actors.Supervisor) -> None:
    calls: list[actors.ValidateContext] = []

    def validate(ctx: actors.ValidateContext, options: dict[str, Any]) -> bool:
        calls.append(ctx)
        assert ctx.supervisor.get_task("no-such-task") is None  # the handle works from here
        return True

    sup.register_task_worker(TaskWorker("CHECKED", echo, validate=validate, priority="low"))
    direct = sup.create_task("CHECKED", metadata={"x": 1})
    (first,) = calls
    assert isinstance(first, actors.ValidateContext)
    assert (first.name, first.task.id, first.task.metadata, first.task.priority) == ("CHECKED", direct, {"x": 1},
                                                                                      "low")
    assert first.supervisor is sup and first.parent_id is None
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
