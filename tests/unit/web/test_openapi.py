"""schemathesis against the app's own ``/openapi.json``: for every documented operation and the
inputs it generates (bounded: a few examples each), the app never answers 500 and every answer
(status code, content type, body) conforms to what the schema documents for it."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

import actors
from actors.web import create_app

#: Examples generated per operation (bounded so the whole run stays well under a minute in CI).
EXAMPLES = 12

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_no_operation_answers_500_or_off_its_schema(sup: actors.Supervisor) -> None:
    for index in range(3):  # something to list, read and change
        sup.create_task("NOBODY", queue="q", tags=["t"], delay=60 * index)
    sup.set_queue("q", concurrency=2)
    sup.schedule("NOBODY", every=60)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(sup))
    schema = schema.exclude(path="/api/events")  # an endless stream: tested against a real server
    tested = []
    for loaded in schema.get_all_operations():
        operation = loaded.ok()
        tested.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def conforms(case: Any) -> None:
            case.call_and_validate(checks=CHECKS)

        conforms()
    assert len(tested) >= 17


def test_the_schema_documents_every_route_and_the_error_body(sup: actors.Supervisor) -> None:
    spec = create_app(sup).openapi()
    assert {"/api/tasks", "/api/tasks/{task_id}", "/api/tasks/{task_id}/logs", "/api/tasks/{task_id}/cancel",
            "/api/tasks/{task_id}/retry", "/api/tasks/{task_id}/pause", "/api/tasks/{task_id}/resume",
            "/api/tasks/retry", "/api/tasks/cancel", "/api/tasks/delete", "/api/queues", "/api/queues/{name}",
            "/api/workers", "/api/schedules", "/api/stats", "/api/events", "/metrics", "/healthz"} <= set(spec["paths"])
    create = spec["paths"]["/api/tasks"]["post"]["responses"]
    assert set(create) >= {"201", "401", "422"}
    assert create["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert set(spec["components"]["schemas"]["ErrorBody"]["properties"]) == {"field", "value", "error"}
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
