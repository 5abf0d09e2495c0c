"""ElizaOS background tasks (seed 000): the README's "ElizaOS — task workers" table, row by row."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import actors
from actors.testing import advance, assert_enqueued, assert_not_enqueued, drain, eventually, inline_supervisor

from .web import TestClient, bearer


def sync(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
    return {"source": options["sourceUrl"], "room": task.room_id}


def test_register_task_worker(supervisor: actors.Supervisor) -> None:
    worker = actors.worker("SYNC_EXTERNAL_DATA")(sync)
    supervisor.register_task_worker(worker)
    assert supervisor.get_task_worker("SYNC_EXTERNAL_DATA") is worker
    supervisor.register_task_worker({"name": "AS_DICT", "execute": sync})  # the seed's object shape
    assert supervisor.get_task_worker("AS_DICT") is not None


def test_execute_gets_options_from_metadata(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("SYNC_EXTERNAL_DATA", sync))
    task_id = supervisor.create_task("SYNC_EXTERNAL_DATA", room_id="room-1", metadata={"sourceUrl": "https://x"})
    drain(supervisor)
    assert supervisor.get_task(task_id).result == {"source": "https://x", "room": "room-1"}  # type: ignore[union-attr]


def test_validate_before_creating(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("SYNC", sync,
                                                      validate=lambda ctx, options: "sourceUrl" in options))
    with pytest.raises(actors.ValidationError, match=r"rejected by SYNC\.validate"):
        supervisor.create_task("SYNC", metadata={})
    assert supervisor.get_tasks(name="SYNC") == []


def test_create_one_time_task(supervisor: actors.Supervisor) -> None:
    task_id = supervisor.create_task("SYNC_EXTERNAL_DATA", description="Sync user data from CRM", room_id="room-1",
                                     tags=["sync", "crm"], metadata={"sourceUrl": "https://api.crm.com/users"})
    task = assert_enqueued(supervisor, name="SYNC_EXTERNAL_DATA", room_id="room-1", tags=["sync", "crm"],
                           metadata={"sourceUrl": "https://api.crm.com/users"})
    assert (task.id, task.description, task.recurring) == (task_id, "Sync user data from CRM", False)


def test_recurring_update_interval_in_ms(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("HEALTH_CHECK", lambda ctx, options, task: task.attempts))
    task_id = supervisor.create_task("HEALTH_CHECK", tags=["scheduled"], metadata={"updateInterval": 5 * 60 * 1000})
    assert supervisor.get_task(task_id).update_interval == 300  # type: ignore[union-attr]
    assert [advance(supervisor, 300).runs for _ in range(3)] == [1, 1, 1]
    assert_enqueued(supervisor, name="HEALTH_CHECK", attempts=3)  # still there, waiting for its next run


def test_query_by_room_tags_and_entity(supervisor: actors.Supervisor) -> None:
    a = supervisor.create_task("T", room_id="room-1", tags=["sync", "crm"], entity_id="user-1")
    supervisor.create_task("T", room_id="room-2", tags=["sync"])
    assert [t.id for t in supervisor.get_tasks(room_id="room-1")] == [a]
    assert [t.id for t in supervisor.get_tasks(tags=["sync", "crm"])] == [a]  # all the tags
    assert len(supervisor.get_tasks(tags=["sync"])) == 2
    assert [t.id for t in supervisor.get_tasks(entity_id="user-1")] == [a]


def test_get_tasks_by_name_and_get_task(supervisor: actors.Supervisor) -> None:
    task_id = supervisor.create_task("SYNC_EXTERNAL_DATA")
    assert [t.id for t in supervisor.get_tasks_by_name("SYNC_EXTERNAL_DATA")] == [task_id]
    assert supervisor.get_task(task_id).name == "SYNC_EXTERNAL_DATA"  # type: ignore[union-attr]
    assert supervisor.get_task("00000000-0000-0000-0000-000000000000") is None


def test_update_task(supervisor: actors.Supervisor) -> None:
    task_id = supervisor.create_task("SYNC", metadata={"sourceUrl": "https://old"}, delay=60)
    updated = supervisor.update_task(task_id, description="Updated description",
                                     metadata={"sourceUrl": "https://new-api.example.com"})
    assert (updated.description, updated.metadata["sourceUrl"]) == ("Updated description",
                                                                    "https://new-api.example.com")
    with pytest.raises(actors.TaskNotFound):
        supervisor.update_task("00000000-0000-0000-0000-000000000000", description="x")


def test_delete_stops_a_recurring_task(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("DAILY_SUMMARY", lambda ctx, options, task: None))
    task_id = supervisor.create_task("DAILY_SUMMARY", update_interval=86_400)
    advance(supervisor, 86_400)
    assert supervisor.delete_task(task_id) is True
    assert advance(supervisor, 86_400).runs == 0
    assert supervisor.get_task(task_id) is None


def test_a_failing_recurring_task_backs_off_then_pauses(supervisor: actors.Supervisor) -> None:
    def boom(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
        raise ConnectionError("crm down")

    supervisor.register_task_worker(actors.TaskWorker("ROBUST_SYNC", boom))
    task_id = supervisor.create_task("ROBUST_SYNC", update_interval=1, max_failures=3)
    for gap in (1, 2, 4):  # the interval doubles after each failure
        failed = advance(supervisor, gap, fail_fast=False).failed
        assert [t.error for t in failed] == ["ConnectionError: crm down"]
    task = supervisor.get_task(task_id)
    assert (task.status, task.failure_count) == (actors.TaskStatus.PAUSED, 3)  # type: ignore[union-attr]


def test_progress_updates(supervisor: actors.Supervisor) -> None:
    def long_processing(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
        for done in range(1, 5):
            ctx.progress(done * 25)

    supervisor.register_task_worker(actors.TaskWorker("LONG_PROCESSING", long_processing))
    task_id = supervisor.create_task("LONG_PROCESSING")
    drain(supervisor)
    assert supervisor.get_task(task_id).progress == 100  # type: ignore[union-attr]


def test_chained_tasks(supervisor: actors.Supervisor) -> None:
    def step_1(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        return str(ctx.create_task("PIPELINE_STEP_2", room_id=task.room_id, tags=list(task.tags),
                                   metadata={"previousResult": 20, "pipelineId": options["pipelineId"]}))

    supervisor.register_task_worker(actors.TaskWorker("PIPELINE_STEP_1", step_1))
    supervisor.register_task_worker(actors.TaskWorker("PIPELINE_STEP_2",
                                                      lambda ctx, options, task: options["previousResult"] + 1))
    first = supervisor.create_task("PIPELINE_STEP_1", room_id="room-1", tags=["pipeline"],
                                   metadata={"pipelineId": "p"})
    drain(supervisor)
    second = supervisor.get_task(supervisor.get_task(first).result)  # type: ignore[union-attr,arg-type]
    assert second is not None
    assert (second.room_id, second.tags, second.result, second.parent_id) == ("room-1", ("pipeline",), 21, first)


def test_tasks_persist_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    with inline_supervisor(str(path)) as first:
        task_id = first.create_task("REPORT", tags=["weekly"], metadata={"format": "pdf"})
    with inline_supervisor(str(path)) as second:
        second.register_task_worker(actors.TaskWorker("REPORT", lambda ctx, options, task: options["format"]))
        drain(second)
        assert second.get_task(task_id).result == "pdf"  # type: ignore[union-attr]


def test_next_interval_moves_the_next_run(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("ADAPTIVE", lambda ctx, options, task: {"nextInterval": 10_000}))
    task_id = supervisor.create_task("ADAPTIVE", update_interval=60)
    assert advance(supervisor, 60).runs == 1
    assert advance(supervisor, 10).runs == 1  # the next run came after 10 s, not 60
    assert supervisor.get_task(task_id).update_interval == 60  # type: ignore[union-attr]  # as configured


def test_a_paused_one_time_task_is_kept_and_not_run(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("LATER", lambda ctx, options, task: "ran"))
    task_id = supervisor.create_task("LATER", delay=10)
    supervisor.pause_task(task_id)
    assert advance(supervisor, 60).runs == 0
    assert_not_enqueued(supervisor, name="LATER")
    supervisor.resume_task(task_id)
    drain(supervisor)
    assert supervisor.get_task(task_id).result == "ran"  # type: ignore[union-attr]


def test_events_monitor_the_task_lifecycle(supervisor: actors.Supervisor) -> None:
    def reporting(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        ctx.progress(50)
        return "synced"

    seen: list[actors.Event] = []
    failures: list[actors.Event] = []
    supervisor.subscribe(seen.append)
    supervisor.subscribe(failures.append, events=["failed"])
    supervisor.register_task_worker(actors.TaskWorker("SYNC_EXTERNAL_DATA", reporting))
    task_id = supervisor.create_task("SYNC_EXTERNAL_DATA", metadata={"sourceUrl": "https://x"})
    drain(supervisor)
    eventually(lambda: [e.kind for e in seen] == ["created", "started", "progress", "succeeded"])
    assert {(e.task_id, e.name) for e in seen} == {(task_id, "SYNC_EXTERNAL_DATA")}
    assert (seen[2].data["progress"], seen[3].data["result"]) == (50, "synced")
    assert failures == []


def test_events_for_asyncio_code(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("SYNC_EXTERNAL_DATA", sync))

    async def watch() -> list[tuple[str, Any]]:
        events = supervisor.aio.events(kinds=["created", "succeeded"])
        first = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0)  # subscribed from here on
        supervisor.create_task("SYNC_EXTERNAL_DATA", room_id="room-1", metadata={"sourceUrl": "https://x"})
        created = await asyncio.wait_for(first, 10)
        done = await asyncio.wait_for(events.__anext__(), 10)
        await events.aclose()
        return [(created.kind, created.name), (done.kind, done.data["result"])]

    assert asyncio.run(watch()) == [("created", "SYNC_EXTERNAL_DATA"),
                                    ("succeeded", {"source": "https://x", "room": "room-1"})]


def test_jobs_api_creates_tasks_over_rest(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("SYNC_EXTERNAL_DATA", sync))
    token = bearer("s3cret")
    job = {"name": "SYNC_EXTERNAL_DATA", "description": "Sync user data",
           "room_id": "room-1", "tags": ["sync"], "metadata": {"sourceUrl": "https://api.crm.com/users"}}
    with TestClient(actors.web.create_app(supervisor, token="s3cret")) as client:
        assert client.post("/api/tasks", json=job).status_code == 401  # no token
        refused = client.post("/api/tasks", json={**job, "priority": "urgent"}, headers=token)
        assert (refused.status_code, refused.json()["field"]) == (422, "priority")
        created = client.post("/api/tasks", json=job, headers=token)
        assert created.status_code == 201
        task_id = created.json()["id"]
        drain(supervisor)
        body = client.get(f"/api/tasks/{task_id}", headers=token).json()
        listed = [t["id"] for t in client.get("/api/tasks?tag=sync&status=succeeded", headers=token).json()]
        missing = client.get("/api/tasks/00000000-0000-0000-0000-000000000000", headers=token).status_code
    assert (body["status"], body["result"]) == ("succeeded", {"source": "https://api.crm.com/users", "room": "room-1"})
    assert (listed, missing) == ([task_id], 404)
    assert supervisor.get_task(task_id).description == "Sync user data"  # type: ignore[union-attr]
