"""The HTTP API's ``POST /api/tasks`` inside a server span (as OpenTelemetry's ASGI instrumentation
would open one): the task created through the handle carries that span's trace context, and
``GET /api/tasks/{id}`` answers it as ``trace``."""

from __future__ import annotations

import warnings
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import actors
from actors.web import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

Asgi = Any


def in_a_server_span(app: Asgi, spans: list[trace.Span]) -> Asgi:
    """``app`` with every HTTP request handled inside a span of its own (kept in ``spans``)."""
    tracer = TracerProvider().get_tracer("server")

    async def traced(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        with tracer.start_as_current_span(f"{scope['method']} {scope['path']}") as span:
            spans.append(span)
            await app(scope, receive, send)

    return traced


def test_a_post_inside_a_server_span_stores_its_trace(sup: actors.Supervisor) -> None:
    spans: list[trace.Span] = []
    with TestClient(in_a_server_span(create_app(sup), spans)) as client:
        answer = client.post("/api/tasks", json={"name": "ECHO", "delay": 3600})
        assert answer.status_code == 201, answer.text
        task_id = answer.json()["id"]
        read = client.get(f"/api/tasks/{task_id}").json()
    context = spans[0].get_span_context()
    _version, trace_id, span_id, _flags = read["trace"]["traceparent"].split("-")
    assert (trace_id, span_id) == (f"{context.trace_id:032x}", f"{context.span_id:016x}")
    assert sup.get_task(task_id).trace == read["trace"]  # type: ignore[union-attr]
