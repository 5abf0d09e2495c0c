"""Contract breaks of issue 11 on the handle and the actor (memory store, inline, ManualClock)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

import actors
from actors import ManualClock, TaskStatus, TaskWorker

START = 1_700_000_000.0


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options.get("a", 0)) + int(options.get("b", 0))


# --- resume_task -----------------------------------------------------------------------------


def test_resume_of_a_task_that_is_not_paused_names_its_status(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("ADD", add))
    pending = sup.create_task("ADD", delay=60)
    with pytest.raises(actors.ValidationError) as info:
        sup.resume_task(pending)
    assert (info.value.field, info.value.value) == ("status", "pending")
    done = sup.create_task("ADD", metadata={"a": 1})
    assert sup.wait(done, timeout=10) == 1
    with pytest.raises(actors.ValidationError, match="status='succeeded'"):
        sup.resume_task(done)
    with pytest.raises(actors.TaskNotFound):
        sup.resume_task("ghost")
    sup.pause_task(pending)
    assert sup.resume_task(pending).status is TaskStatus.PENDING


# --- stats ------------------------------------------------------------------------------------


def test_stats_count_per_queue_and_workers_busy_and_idle(sup: actors.Supervisor) -> None:
    started, release = threading.Event(), threading.Event()

    def block(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
        started.set()
        assert release.wait(10)

    sup.register_task_worker(TaskWorker("BLOCK", block, queue="slow"))
    sup.register_task_worker(TaskWorker("ADD", add))
    sup.create_task("ADD", delay=60)
    sup.create_task("ADD", delay=60, queue="emails")
    blocked = sup.create_task("BLOCK")
    assert started.wait(10)
    stats = sup.stats()
    zero = {status.value: 0 for status in TaskStatus}
    assert {name: queue["counts"] for name, queue in stats["queues"].items()} == {
        "default": {**zero, "pending": 1}, "emails": {**zero, "pending": 1}, "slow": {**zero, "running": 1}}
    assert stats["queues"]["slow"]["running"] == 1
    slots = stats["workers"]["slots"]
    assert (stats["workers"]["busy"], stats["workers"]["idle"]) == (1, slots - 1)
    assert stats["workers"]["registered"] == ["ADD", "BLOCK"]  # today's keys stay
    release.set()
    sup.wait(blocked, timeout=10)
    sup.join(timeout=10)
    stats = sup.stats()
    assert (stats["workers"]["busy"], stats["workers"]["idle"]) == (0, slots)
    assert stats["queues"]["slow"]["counts"] == {**zero, "succeeded": 1}
    assert stats["queues"]["slow"]["running"] == 0


def test_stats_queues_show_each_queues_limits_and_pause(sup: actors.Supervisor) -> None:
    sup.set_queue("emails", concurrency=5, key_concurrency=1, rate_limit="100/m")
    sup.pause_queue("reports")
    sup.create_task("ADD", queue="emails", delay=60)
    queues = sup.stats()["queues"]
    counts = {**{s.value: 0 for s in TaskStatus}, "pending": 1}
    assert queues["emails"] == {**counts, "name": "emails", "concurrency": 5, "key_concurrency": 1,
                                "rate_limit": [100, 60.0], "paused": False, "running": 0, "counts": counts}
    assert queues["reports"]["paused"] is True and queues["reports"]["concurrency"] is None
    json.dumps(queues)  # JSON as it stands, for the CLI and the HTTP API


# --- typed messages asked directly (actors.messages) ------------------------------------------


def test_the_typed_messages_asked_directly_behave_as_the_handle(sup: actors.Supervisor) -> None:
    from actors.messages import (
        CancelTask,
        CreateTask,
        DeleteTask,
        GetTask,
        GetTasks,
        PauseTask,
        ResumeTask,
        UpdateTask,
    )
    from actors.storage.base import TaskQuery

    sup.register_task_worker(TaskWorker("LOW", add, priority="low", queue="slow"))
    task_id = sup.ref.ask(CreateTask("LOW", metadata={"a": 1}, tags=["x"], delay=60))
    task = sup.ref.ask(GetTask(task_id))
    assert (task.name, task.metadata, task.tags, task.priority, task.queue) == (
        "LOW", {"a": 1}, ("x",), "low", "slow")  # the worker's defaults, as create_task gives
    assert [t.id for t in sup.ref.ask(GetTasks(name="LOW"))] == [task_id]
    assert [t.id for t in sup.ref.ask(GetTasks(TaskQuery(tags=("x",))))] == [task_id]  # positional form
    assert sup.ref.ask(GetTasks(name="LOW", status="succeeded")) == []
    assert sup.ref.ask(UpdateTask(task_id, {"description": "d"})).description == "d"
    assert sup.ref.ask(PauseTask(task_id)).status is TaskStatus.PAUSED
    assert sup.ref.ask(ResumeTask(task_id)).status is TaskStatus.PENDING
    with pytest.raises(actors.ValidationError, match="status='pending'"):
        sup.ref.ask(ResumeTask(task_id))
    assert sup.ref.ask(CancelTask(task_id)).status is TaskStatus.CANCELLED
    assert sup.ref.ask(DeleteTask(task_id)) is True
    assert sup.ref.ask(GetTask(task_id)) is None
    with pytest.raises(actors.TaskNotFound):
        sup.ref.ask(UpdateTask("ghost", {"description": "d"}))


def test_the_typed_messages_cannot_skip_validation(sup: actors.Supervisor) -> None:
    from actors.messages import CreateTask, GetTasks, UpdateTask

    sup.register_task_worker(TaskWorker("V", add, validate=lambda ctx, options: "a" in options))
    with pytest.raises(actors.ValidationError) as info:
        sup.ref.ask(CreateTask("V", priority="urgent"))
    assert info.value.field == "priority"
    with pytest.raises(actors.ValidationError, match=r"rejected by V\.validate"):
        sup.ref.ask(CreateTask("V", metadata={"b": 1}))
    with pytest.raises(actors.ValidationError) as info:
        CreateTask("V", bogus=1)
    assert info.value.field == "bogus"
    assert sup.get_tasks() == []  # nothing stored
    task_id = sup.ref.ask(CreateTask("V", metadata={"a": 1}, delay=60))
    for changes, field in [({"priority": "urgent"}, "priority"), ({"status": "succeeded"}, "status"),
                           ({"metadata": {"updateInterval": -1}}, "metadata['updateInterval']"),
                           ({"update_interval": "soon"}, "update_interval")]:
        with pytest.raises(actors.ValidationError) as info:
            sup.ref.ask(UpdateTask(task_id, changes))
        assert info.value.field == field
    assert sup.get_task(task_id).priority == "normal"  # type: ignore[union-attr]
    with pytest.raises(actors.ValidationError, match="status"):
        sup.ref.ask(GetTasks(status="nope"))
    with pytest.raises(actors.ValidationError, match="query"):
        sup.ref.ask(GetTasks("not a query"))


# --- a new interval moves the pending run -------------------------------------------------------


def test_a_new_interval_moves_the_pending_run_and_the_node_claims_it(sup: actors.Supervisor,
                                                                    clock: ManualClock) -> None:
    runs: list[float] = []
    sup.register_task_worker(TaskWorker("TICK", lambda ctx, options, task: runs.append(clock.now())))
    task_id = sup.create_task("TICK", update_interval=100)
    clock.advance(1)
    assert sup.update_task(task_id, update_interval=0.5).run_at.timestamp() == START + 1  # type: ignore[union-attr]
    sup.join(timeout=10)
    assert runs == [START + 1]  # claimed on the update itself, no tick needed
    seeds = sup.create_task("TICK", metadata={"updateInterval": 100_000})
    sup.update_task(seeds, metadata={"updateInterval": 2_000})  # the seeds' form, in ms
    task = sup.get_task(seeds)
    assert task is not None
    assert (task.update_interval, task.run_at.timestamp()) == (2.0, START + 3)  # type: ignore[union-attr]
