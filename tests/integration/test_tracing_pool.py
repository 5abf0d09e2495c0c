"""OpenTelemetry across processes: a task created inside a span of the test process runs in a
pool child whose worker module configured an SDK (``traced_tasks``); the child's attempt span
carries the creator's trace id and parent span, a task the child creates continues the trace
from the child's attempt span, and a raise ends the span in ERROR."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import actors
from actors import TaskWorker
from actors.testing import eventually

from . import traced_tasks as tasks


@pytest.fixture
def spans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "spans.jsonl"
    monkeypatch.setenv(tasks.SPANS_ENV, str(path))
    return path


@pytest.fixture
def traced_sup(db: str, spans: Path) -> Iterator[actors.Supervisor]:
    node = actors.Supervisor.start(db, workers=1, lease_ttl=2.0, kill_grace=0.3, abort_grace=0.5)
    yield node
    node.stop(timeout=5)


def attempt_spans(path: Path, name: str) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [span for span in map(json.loads, lines) if span["name"] == f"actors.attempt {name}"]


def test_the_childs_attempt_span_continues_the_creators_trace(traced_sup: actors.Supervisor, spans: Path) -> None:
    traced_sup.register_task_worker(TaskWorker("TRACED", tasks.traced))
    traced_sup.register_task_worker(TaskWorker("TRACED_PARENT", tasks.traced_parent))
    with TracerProvider().get_tracer("test").start_as_current_span("creator") as creator:
        parent_id = traced_sup.create_task("TRACED_PARENT")
    child_id = traced_sup.wait(parent_id, timeout=60)
    pid = traced_sup.wait(child_id, timeout=60)
    assert pid != os.getpid()
    eventually(lambda: len(attempt_spans(spans, "TRACED")) == 1, timeout=10)
    [outer] = attempt_spans(spans, "TRACED_PARENT")
    [inner] = attempt_spans(spans, "TRACED")
    context = creator.get_span_context()
    assert (outer["trace_id"], outer["parent_id"]) == (f"{context.trace_id:032x}", f"{context.span_id:016x}")
    assert outer["attributes"] == {"actors.task.id": parent_id, "actors.task.name": "TRACED_PARENT",
                                   "actors.task.attempt": 1, "actors.task.iteration": 1, "actors.queue": "default",
                                   "actors.outcome": "Succeeded"}
    assert (inner["trace_id"], inner["parent_id"], inner["pid"]) == (outer["trace_id"], outer["span_id"], pid)
    child = traced_sup.get_task(child_id)
    assert child is not None and child.trace is not None and outer["span_id"] in child.trace["traceparent"]


def test_a_raise_in_the_child_ends_its_span_in_error(traced_sup: actors.Supervisor, spans: Path) -> None:
    traced_sup.register_task_worker(TaskWorker("TRACED_FAILURE", tasks.traced_failure))
    task_id = traced_sup.create_task("TRACED_FAILURE", max_attempts=1)
    with pytest.raises(actors.TaskFailed):
        traced_sup.wait(task_id, timeout=60)
    eventually(lambda: len(attempt_spans(spans, "TRACED_FAILURE")) == 1, timeout=10)
    [span] = attempt_spans(spans, "TRACED_FAILURE")
    assert span["status"] == "ERROR" and span["parent_id"] is None and span["pid"] != os.getpid()
