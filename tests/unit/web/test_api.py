"""The JSON routes of the HTTP API on an inline node: what each answers, its status codes, and the
error body ``{"field", "value", "error"}`` (422 for bad input, 404 for an unknown id)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import actors
from actors import ManualClock, Retry, TaskWorker
from tests.helpers import private_worker

from .conftest import echo

ONCE = Retry(max_attempts=1)


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The app's routes (FastAPI may keep an included router's routes behind it)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def create(client: TestClient, **body: Any) -> str:
    response = client.post("/api/tasks", json={"name": "NOBODY", **body})
    assert response.status_code == 201, response.json()
    task_id: str = response.json()["id"]
    return task_id


def listed(client: TestClient, query: str = "") -> list[str]:
    response = client.get(f"/api/tasks{query}")
    assert response.status_code == 200, response.json()
    return [task["id"] for task in response.json()]


def test_a_created_task_is_stored_with_its_fields_and_read_back(client: TestClient, sup: actors.Supervisor) -> None:
    task_id = create(client, description="Sync user data", tags=["sync", "crm"], metadata={"sourceUrl": "x"},
                     priority="high", queue="emails", delay=60, max_attempts=2)
    stored = sup.get_task(task_id)
    assert stored is not None and stored.tags == ("sync", "crm") and stored.queue == "emails"
    assert stored.priority == "high" and stored.max_attempts == 2 and stored.metadata == {"sourceUrl": "x"}
    body = client.get(f"/api/tasks/{task_id}").json()
    assert body["id"] == task_id and body["status"] == "pending" and body["tags"] == ["sync", "crm"]
    assert stored.run_at is not None
    assert datetime.fromisoformat(body["run_at"].replace("Z", "+00:00")) == stored.run_at


def test_the_create_body_documents_every_create_task_keyword(client: TestClient, sup: actors.Supervisor) -> None:
    """The OpenAPI body of ``POST /api/tasks`` follows ``TaskSpec``: a keyword added there and not
    here is undocumented (it would only pass as an extra)."""
    from actors.spec import SPEC_FIELDS
    from actors.web.schemas import NOT_IN_BODY, CreateTask

    assert set(CreateTask.model_fields) == SPEC_FIELDS - NOT_IN_BODY
    documented = client.get("/openapi.json").json()["components"]["schemas"]["CreateTask"]["properties"]
    assert "max_iterations" in documented
    stored = sup.get_task(create(client, max_iterations=7))
    assert stored is not None and stored.max_iterations == 7


def test_listing_filters_by_status_name_queue_tags_parent_and_pages(client: TestClient,
                                                                     sup: actors.Supervisor) -> None:
    a = create(client, queue="q1", tags=["x", "y"])
    b = create(client, name="OTHER", queue="q2", tags=["x"])
    c = create(client, queue="q1")
    client.post(f"/api/tasks/{c}/cancel")
    assert listed(client) == [a, b, c]
    assert listed(client, "?status=pending") == [a, b]
    assert listed(client, "?status=pending&status=cancelled") == [a, b, c]
    assert listed(client, "?name=OTHER") == [b]
    assert listed(client, "?queue=q1") == [a, c]
    assert listed(client, "?tag=x") == [a, b]
    assert listed(client, "?tag=x&tag=y") == [a]
    assert listed(client, "?limit=1&offset=1") == [b]
    assert listed(client, f"?parent_id={a}") == []


def test_children_are_listed_by_parent_id(client: TestClient, sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("PARENT", lambda ctx, options, task: ctx.create_task("CHILD")))
    parent = create(client, name="PARENT")
    child = sup.wait(parent, timeout=10)
    assert listed(client, f"?parent_id={parent}") == [child]


@pytest.mark.parametrize(("body", "field", "value"), [
    ({"name": "NOBODY", "priority": "huge"}, "priority", "huge"),
    ({"name": "NOBODY", "delay": -5}, "delay", -5),
    ({"name": "NOBODY", "colour": "red"}, "colour", "red"),
    ({"name": "NOBODY", "tags": "sync"}, "tags", "sync"),
    ({"name": "NOBODY", "run_at": "not a time"}, "run_at", "not a time"),
    ({"description": "no name"}, "name", {"description": "no name"}),
    ({"name": ""}, "name", ""),
])
def test_bad_input_is_422_naming_the_field_and_value_and_nothing_is_stored(
        client: TestClient, sup: actors.Supervisor, body: dict[str, Any], field: str, value: Any) -> None:
    response = client.post("/api/tasks", json=body)
    assert response.status_code == 422
    error = response.json()
    assert error["field"] == field and error["value"] == value and error["error"]
    assert sup.get_tasks() == []


def test_malformed_json_and_bad_query_parameters_are_422(client: TestClient) -> None:
    response = client.post("/api/tasks", content=b'{"name": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["field"] == "body"
    assert "JSON" in response.json()["error"]
    for query, field in [("?limit=ten", "limit"), ("?offset=-1", "offset"), ("?status=sleeping", "status"),
                         ("?limit=-3", "limit")]:
        response = client.get(f"/api/tasks{query}")
        assert response.status_code == 422, query
        assert response.json()["field"] == field, (query, response.json())


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/tasks/{id}"), ("DELETE", "/api/tasks/{id}"), ("GET", "/api/tasks/{id}/logs"),
    ("POST", "/api/tasks/{id}/cancel"), ("POST", "/api/tasks/{id}/retry"), ("POST", "/api/tasks/{id}/pause"),
    ("POST", "/api/tasks/{id}/resume"),
])
def test_an_unknown_id_is_404_naming_it(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path.format(id="no-such-task"))
    assert response.status_code == 404
    assert response.json()["field"] == "id" and response.json()["value"] == "no-such-task"


def test_cancel_retry_pause_resume_and_delete_change_the_task(client: TestClient, sup: actors.Supervisor) -> None:
    task_id = create(client, delay=3600)
    assert client.post(f"/api/tasks/{task_id}/pause").json()["status"] == "paused"
    assert client.post(f"/api/tasks/{task_id}/resume").json()["status"] == "pending"
    response = client.post(f"/api/tasks/{task_id}/resume")  # not paused
    assert response.status_code == 422 and response.json()["field"] == "status"
    response = client.post(f"/api/tasks/{task_id}/retry")  # not failed
    assert response.status_code == 422 and response.json()["field"] == "status"
    assert client.post(f"/api/tasks/{task_id}/cancel").json()["status"] == "cancelled"
    assert client.post(f"/api/tasks/{task_id}/retry").json()["status"] == "pending"
    assert client.delete(f"/api/tasks/{task_id}").json() == {"id": task_id, "deleted": True}
    assert sup.get_task(task_id) is None
    assert client.delete(f"/api/tasks/{task_id}").status_code == 404


def test_logs_and_result_of_a_task_that_ran(client: TestClient, sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("ECHO", echo))
    task_id = create(client, name="ECHO", metadata={"n": 1})
    assert sup.wait(task_id, timeout=10) == {"n": 1}
    body = client.get(f"/api/tasks/{task_id}").json()
    assert body["status"] == "succeeded" and body["result"] == {"n": 1} and body["attempts"] == 1
    logs = client.get(f"/api/tasks/{task_id}/logs").json()
    assert [(line["attempt"], line["level"], line["message"]) for line in logs] == [
        (1, "INFO", f"hello from {task_id[:8]}")]


def test_bulk_actions_change_every_task_matching_the_filter(client: TestClient, sup: actors.Supervisor) -> None:
    waiting = [create(client, delay=3600, queue="q") for _ in range(3)]
    other = create(client, delay=3600, queue="elsewhere")

    def statuses(ids: list[str]) -> set[str]:
        return {client.get(f"/api/tasks/{task_id}").json()["status"] for task_id in ids}

    assert client.post("/api/tasks/cancel", json={"queue": "q"}).json() == {"count": 3}
    assert statuses(waiting) == {"cancelled"} and statuses([other]) == {"pending"}
    assert client.post("/api/tasks/retry", json={"queue": "q", "status": ["cancelled", "failed"]}).json() == {
        "count": 3}
    assert statuses(waiting) == {"pending"}
    assert client.post("/api/tasks/retry", json={"queue": "q"}).json() == {"count": 0}  # none failed or cancelled
    assert client.post("/api/tasks/delete", json={"queue": "q", "name": "NOBODY"}).json() == {"count": 3}
    assert [task.id for task in sup.get_tasks()] == [other]
    response = client.post("/api/tasks/retry", json={"colour": "red"})
    assert response.status_code == 422 and response.json()["field"] == "colour"
    response = client.post("/api/tasks/cancel", json={"status": "sleeping"})
    assert response.status_code == 422 and response.json()["field"] == "status"
    assert client.post("/api/tasks/delete").status_code == 422  # a body is required ({} for every task)


def test_private_workers_tasks_are_hidden_from_listings_unless_named(client: TestClient,
                                                                      sup: actors.Supervisor) -> None:
    sup.register_task_worker(private_worker("SECRET", echo))
    shown = [create(client, delay=3600) for _ in range(2)]
    hidden = [create(client, name="SECRET", delay=3600) for _ in range(3)]
    shown.append(create(client, delay=3600))
    assert listed(client) == shown
    assert listed(client, "?limit=2&offset=1") == shown[1:3]
    assert listed(client, "?name=SECRET") == hidden
    assert client.get(f"/api/tasks/{hidden[0]}").json()["name"] == "SECRET"  # by id: always
    assert client.post("/api/tasks/cancel", json={}).json() == {"count": 3}
    assert {task.status for task in sup.get_tasks(name="SECRET")} == {actors.TaskStatus.PENDING}
    assert client.post("/api/tasks/cancel", json={"name": "SECRET"}).json() == {"count": 3}


def test_queues_are_listed_and_changed(client: TestClient, sup: actors.Supervisor) -> None:
    create(client, queue="emails")
    body = client.patch("/api/queues/emails", json={"concurrency": 5, "rate_limit": "100/m"}).json()
    assert body["name"] == "emails" and body["concurrency"] == 5 and body["rate_limit"] == [100, 60.0]
    assert client.patch("/api/queues/emails", json={"paused": True}).json()["concurrency"] == 5  # kept
    queues = {queue["name"]: queue for queue in client.get("/api/queues").json()}
    assert queues["emails"]["paused"] is True and queues["emails"]["counts"]["pending"] == 1
    assert client.patch("/api/queues/emails", json={"concurrency": None}).json()["concurrency"] is None
    response = client.patch("/api/queues/emails", json={"rate_limit": "lots"})
    assert response.status_code == 422 and response.json()["field"] == "rate_limit"
    response = client.patch("/api/queues/emails", json={"speed": 3})
    assert response.status_code == 422 and response.json()["field"] == "speed"
    assert sup.get_queues()[0].concurrency is None and sup.get_queues()[0].rate_limit == (100, 60.0)


def test_schedules_stats_and_healthz(client: TestClient, sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.schedule("NOBODY", every=60)
    schedules = client.get("/api/schedules").json()
    assert [(s["key"], s["name"], s["every"]) for s in schedules] == [("NOBODY", "NOBODY", 60.0)]
    create(client, queue="q")
    stats = client.get("/api/stats").json()
    assert stats["tasks"]["pending"] >= 1 and stats["queues"]["q"]["pending"] == 1
    assert client.get("/healthz").json() == {"ok": True, "node_id": sup.node_id}


def test_healthz_is_503_once_the_node_stopped(client: TestClient, sup: actors.Supervisor) -> None:
    sup.stop()
    assert client.get("/healthz").status_code == 503
    response = client.get("/api/tasks")
    assert response.status_code == 503 and "stopped" in response.json()["error"]


def test_every_route_that_calls_the_node_runs_in_the_thread_pool(client: TestClient) -> None:
    # a plain def handler is run by the server in its thread pool: a blocking Supervisor call
    # never stalls the event loop; only the SSE route is a coroutine (it awaits its queue)
    routes = list(api_routes(client.app.routes))  # type: ignore[attr-defined]
    coroutines = sorted(route.path for route in routes if inspect.iscoroutinefunction(route.endpoint))
    assert coroutines == ["/api/events"]
    assert len(routes) > 15


def test_an_unknown_route_or_method_answers_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and set(response.json()) == {"field", "value", "error"}
    response = client.put("/api/tasks")
    assert response.status_code == 405 and response.json()["error"]


def test_workers_are_listed_without_the_private_ones_unless_named(client: TestClient,
                                                                  sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("ECHO", echo, queue="emails"))
    sup.register_task_worker(private_worker("SECRET", echo))
    workers = client.get("/api/workers").json()
    assert [(w["name"], w["queue"], w["isolation"]) for w in workers] == [("ECHO", "emails", "process")]
    assert [w["name"] for w in client.get("/api/workers?name=SECRET").json()] == ["SECRET"]
    assert client.get("/api/workers?name=NOBODY").json() == []


def test_logs_of_one_iteration_where_the_build_keeps_them(client: TestClient, sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("ECHO", echo))
    task_id = create(client, name="ECHO")
    sup.wait(task_id, timeout=10)
    response = client.get(f"/api/tasks/{task_id}/logs?iteration=1")
    if "iteration" in inspect.signature(sup.logs).parameters:
        assert [line["message"] for line in response.json()] == [f"hello from {task_id[:8]}"]
    else:
        assert response.status_code == 422 and response.json()["field"] == "iteration"
    response = client.get(f"/api/tasks/{task_id}/logs?iteration=0")
    assert response.status_code == 422 and response.json()["field"] == "iteration"


def test_a_bad_page_is_refused_with_private_workers_registered_too(client: TestClient,
                                                                   sup: actors.Supervisor) -> None:
    sup.register_task_worker(private_worker("SECRET", echo))
    for query, field in [("?offset=-1", "offset"), ("?limit=-1", "limit"), ("?status=sleeping", "status")]:
        response = client.get(f"/api/tasks{query}")
        assert response.status_code == 422 and response.json()["field"] == field, query
