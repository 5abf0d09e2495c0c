"""Webiny background tasks (seed 003): the README's "Webiny" table, the rows that work today."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import actors
from actors.testing import advance, drain, eventually

from .web import TestClient, bearer


def test_task_definition_id(supervisor: actors.Supervisor) -> None:
    definition = actors.TaskWorker("myCustomTask", lambda ctx, input, task: None, timeout=900)
    supervisor.register_task_worker(definition)
    assert (supervisor.get_task_worker("myCustomTask"), definition.timeout) == (definition, 900)


def test_run_executes_asynchronously(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("bulkAction", lambda ctx, input, task: len(input["ids"])))
    task_id = supervisor.create_task("bulkAction", metadata={"ids": [1, 2, 3]})  # returns at once
    drain(supervisor)
    assert supervisor.get_task(task_id).result == 3  # type: ignore[union-attr]


def run_then_cancel(tmp_path: Path, **fields: Any) -> str:
    """Start a ``longTask`` (a TaskWorker with ``fields``) that runs until ``ctx.is_aborted()``,
    cancel it while it runs, and return its id once it has returned, CANCELLED."""
    started, idle = threading.Event(), threading.Event()

    def long_task(ctx: Any, input: dict[str, Any], task: actors.Task) -> str:
        started.set()
        while not ctx.is_aborted():
            idle.wait(0.01)
        return "stopped early"

    # a real node: the task runs on a thread of its own while the test cancels it
    with actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=1, thread_workers=1) as node:
        node.register_task_worker(actors.TaskWorker("longTask", long_task, isolation="thread", **fields))
        task_id = node.create_task("longTask")
        assert started.wait(10)
        assert node.cancel_task(task_id).status is actors.TaskStatus.CANCELLED
        eventually(lambda: node.stats()["workers"]["busy"] == 0)  # it saw the abort and returned
        assert node.get_task(task_id).status is actors.TaskStatus.CANCELLED  # type: ignore[union-attr]
    return task_id


def test_is_aborted(tmp_path: Path) -> None:
    run_then_cancel(tmp_path)


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


def export_pages(ctx: Any, input: dict[str, Any], task: actors.Task) -> Any:
    """Exports ``input["total"]`` records, 10 per iteration, then returns how it went."""
    cursor = input.get("cursor", 0) + 10
    ctx.log.info("iteration %d exported up to %d", ctx.iteration, cursor)
    if cursor < input["total"]:
        return actors.Continue(options={"total": input["total"], "cursor": cursor}, delay=5)
    return {"exported": cursor, "iterations": ctx.iteration}


def test_continue_runs_the_same_task_again(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("export", export_pages))
    task_id = supervisor.create_task("export", metadata={"total": 30})
    assert drain(supervisor).succeeded == 0
    task = supervisor.get_task(task_id)
    assert task is not None and (task.status, task.iteration, task.metadata) == (
        actors.TaskStatus.PENDING, 2, {"total": 30, "cursor": 10})  # the same id, the next input, 5 s later
    advance(supervisor, 5)
    assert advance(supervisor, 5).succeeded == 1
    task = supervisor.get_task(task_id)
    assert task is not None and task.result == {"exported": 30, "iterations": 3}
    assert (task.attempts, supervisor.get_tasks(name="export") == [task]) == (1, True)  # attempts reset; one task


def test_max_iterations_and_on_max_iterations(supervisor: actors.Supervisor) -> None:
    reached: list[int] = []
    supervisor.register_task_worker(actors.TaskWorker(
        "export", export_pages, max_iterations=2, on_max_iterations=lambda ctx, input: reached.append(ctx.iteration)))
    task_id = supervisor.create_task("export", metadata={"total": 100})
    with pytest.raises(actors.TaskFailed, match="max_iterations=2 reached"):
        drain(supervisor, with_scheduled=True)
    task = supervisor.get_task(task_id)
    assert task is not None and (task.status, task.iteration) == (actors.TaskStatus.FAILED, 2)
    assert reached == [2]


def test_max_iterations_of_one_task(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("export", export_pages, max_iterations=2))
    task_id = supervisor.create_task("export", metadata={"total": 100}, max_iterations=3)
    with pytest.raises(actors.TaskFailed, match="max_iterations=3 reached"):
        drain(supervisor, with_scheduled=True)
    assert supervisor.get_task(task_id).iteration == 3  # type: ignore[union-attr]


def test_logs_per_iteration(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("export", export_pages))
    task_id = supervisor.create_task("export", metadata={"total": 30})
    drain(supervisor, with_scheduled=True)
    assert [r.message for r in supervisor.logs(task_id, iteration=2)] == ["iteration 2 exported up to 20"]
    assert [r.iteration for r in supervisor.logs(task_id)] == [1, 2, 3]


def test_on_done_and_on_error(supervisor: actors.Supervisor) -> None:
    seen: list[tuple[str, str, Any]] = []

    def run(ctx: Any, input: dict[str, Any], task: actors.Task) -> dict[str, int]:
        if input.get("broken"):
            raise ValueError("record 7 is malformed")
        return {"processed": 10}

    supervisor.register_task_worker(actors.TaskWorker(
        "t", run, retry=actors.Retry(max_attempts=1),
        on_success=lambda ctx, input, output: seen.append(("onDone", ctx.task.id, output)),
        on_failure=lambda ctx, input, error: seen.append(("onError", ctx.task.id, str(error)))))
    done = supervisor.create_task("t")
    failed = supervisor.create_task("t", metadata={"broken": True})
    drain(supervisor, fail_fast=False)
    assert seen == [("onDone", done, {"processed": 10}), ("onError", failed, "record 7 is malformed")]


def test_on_abort(tmp_path: Path) -> None:
    aborted: list[str] = []
    task_id = run_then_cancel(tmp_path, on_abort=lambda ctx, input: aborted.append(ctx.task.id))
    assert aborted == [task_id]  # it ran before the attempt ended


def test_create_input_validation(supervisor: actors.Supervisor) -> None:
    def input_validation(input: dict[str, Any]) -> dict[str, Any]:
        if input.get("model") not in {"article", "page"}:
            raise actors.ValidationError("model", input.get("model"), "must be article or page")
        return {"model": input["model"], "limit": int(input.get("limit", 50))}  # defaults filled in

    supervisor.register_task_worker(actors.TaskWorker("export", lambda ctx, input, task: input,
                                                      schema=input_validation))
    with pytest.raises(actors.ValidationError, match="model") as info:
        supervisor.create_task("export", metadata={"model": "unknown"})
    assert info.value.value == "unknown"
    assert supervisor.get_tasks(name="export") == []  # nothing stored
    task_id = supervisor.create_task("export", metadata={"model": "page"})
    drain(supervisor)
    assert supervisor.get_task(task_id).result == {"model": "page", "limit": 50}  # type: ignore[union-attr]


def test_title_description_and_is_private(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("publicExport", lambda ctx, input, task: None,
                                                      title="Export", description="Exports the pages"))
    supervisor.register_task_worker(actors.TaskWorker("internalCleanup", lambda ctx, input, task: None,
                                                      title="Cleanup", private=True))
    listed = {w["name"]: (w["title"], w["description"], w["private"]) for w in supervisor.workers()}
    assert listed == {"publicExport": ("Export", "Exports the pages", False),
                      "internalCleanup": ("Cleanup", None, True)}
    assert [w["name"] for w in supervisor.workers(private=False)] == ["publicExport"]
    public, private = (supervisor.create_task(name, delay=60) for name in ("publicExport", "internalCleanup"))
    with TestClient(actors.web.create_app(supervisor, token="t")) as client:
        shown = [t["id"] for t in client.get("/api/tasks", headers=bearer("t")).json()]
        named = [t["id"] for t in client.get("/api/tasks?name=internalCleanup", headers=bearer("t")).json()]
        cancelled = client.post("/api/tasks/cancel", json={}, headers=bearer("t")).json()
    assert (shown, named) == ([public], [private])  # a private task's only listed when asked for by name
    assert cancelled == {"count": 1}  # nor touched by a bulk action that does not name it
    assert supervisor.get_task(private).status is actors.TaskStatus.PENDING  # type: ignore[union-attr]
