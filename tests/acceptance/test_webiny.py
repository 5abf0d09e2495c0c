"""Webiny background tasks (seed 003): the README's "Webiny" table, the rows that work today."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import actors
from actors.testing import drain, eventually


def test_task_definition_id(supervisor: actors.Supervisor) -> None:
    definition = actors.TaskWorker("myCustomTask", lambda ctx, input, task: None, timeout=900)
    supervisor.register_task_worker(definition)
    assert (supervisor.get_task_worker("myCustomTask"), definition.timeout) == (definition, 900)


def test_run_executes_asynchronously(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("bulkAction", lambda ctx, input, task: len(input["ids"])))
    task_id = supervisor.create_task("bulkAction", metadata={"ids": [1, 2, 3]})  # returns at once
    drain(supervisor)
    assert supervisor.get_task(task_id).result == 3  # type: ignore[union-attr]


def test_is_aborted(tmp_path: Path) -> None:
    started = threading.Event()

    def long_task(ctx: Any, input: dict[str, Any], task: actors.Task) -> str:
        started.set()
        while not ctx.is_aborted():
            started.wait(0.01)
        return "stopped early"

    # a real node: the task runs on a thread of its own while the test cancels it
    with actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=1, thread_workers=1) as node:
        node.register_task_worker(actors.TaskWorker("longTask", long_task, isolation="thread"))
        task_id = node.create_task("longTask")
        assert started.wait(10)
        assert node.cancel_task(task_id).status is actors.TaskStatus.CANCELLED
        eventually(lambda: node.stats()["workers"]["busy"] == 0)  # it saw the abort and returned
        assert node.get_task(task_id).status is actors.TaskStatus.CANCELLED  # type: ignore[union-attr]


def test_is_close_to_timeout(supervisor: actors.Supervisor) -> None:
    def careful(ctx: Any, input: dict[str, Any], task: actors.Task) -> list[Any]:
        left = ctx.remaining_seconds()
        return [ctx.is_close_to_timeout(10), ctx.is_close_to_timeout(120), 50 < left <= 60]

    supervisor.register_task_worker(actors.TaskWorker("careful", careful, timeout=60))
    task_id = supervisor.create_task("careful")
    drain(supervisor)
    assert supervisor.get_task(task_id).result == [False, True, True]  # type: ignore[union-attr]


def test_done_returns_the_output(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("t", lambda ctx, input, task: {"processed": 10}))
    task_id = supervisor.create_task("t")
    drain(supervisor)
    task = supervisor.get_task(task_id)
    assert (task.status, task.result) == (actors.TaskStatus.SUCCEEDED, {"processed": 10})  # type: ignore[union-attr]


def test_error_fails_the_task(supervisor: actors.Supervisor) -> None:
    def broken(ctx: Any, input: dict[str, Any], task: actors.Task) -> None:
        raise ValueError("record 7 is malformed")

    supervisor.register_task_worker(actors.TaskWorker("broken", broken))
    task_id = supervisor.create_task("broken")
    with pytest.raises(actors.TaskFailed, match="record 7 is malformed") as info:
        drain(supervisor)
    assert info.value.task_id == task_id


def test_aborted_cancels_a_waiting_task(supervisor: actors.Supervisor) -> None:
    task_id = supervisor.create_task("t", delay=60)
    supervisor.cancel_task(task_id)
    with pytest.raises(actors.TaskCancelled):
        supervisor.wait(task_id, timeout=10)


def test_validate_before_trigger(supervisor: actors.Supervisor) -> None:
    def only_known_models(ctx: actors.ValidateContext, input: dict[str, Any]) -> bool:
        return input.get("model") in {"article", "page"}

    supervisor.register_task_worker(actors.TaskWorker("export", lambda ctx, input, task: None,
                                                      validate=only_known_models))
    with pytest.raises(actors.ValidationError, match="export"):
        supervisor.create_task("export", metadata={"model": "unknown"})
    assert supervisor.create_task("export", metadata={"model": "page"})


def test_task_logs(supervisor: actors.Supervisor) -> None:
    def chatty(ctx: Any, input: dict[str, Any], task: actors.Task) -> None:
        ctx.log.info("processing %d items", 3)

    supervisor.register_task_worker(actors.TaskWorker("chatty", chatty))
    task_id = supervisor.create_task("chatty")
    drain(supervisor)
    assert [(r.attempt, r.message) for r in supervisor.logs(task_id)] == [(1, "processing 3 items")]
