"""OpenTelemetry (``actors.tracing``) on the inline node: a create inside a span stores its W3C
context on the task, each attempt runs in a span ``actors.attempt <name>`` that continues that
trace, and without opentelemetry (or without an SDK) nothing changes. Spans go to the SDK's
``InMemorySpanExporter`` through a provider this module puts in place of the global one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import actors
from actors import TaskWorker, tracing


def echo(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    return "ok"


def broken(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
    raise RuntimeError("it broke")


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """An SDK provider exporting to memory, as this process's tracer provider for the test."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    yield spans
    provider.shutdown()


def attempt_spans(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == f"actors.attempt {name}"]


def test_a_create_inside_a_span_stores_its_traceparent(sup: actors.Supervisor, exporter: InMemorySpanExporter) -> None:
    sup.register_task_worker(TaskWorker("ECHO", echo))
    with trace.get_tracer("test").start_as_current_span("creator") as creator:
        task_id = sup.create_task("ECHO", delay=3600)
    context = creator.get_span_context()
    stored = sup.get_task(task_id)
    assert stored is not None and stored.trace is not None
    version, trace_id, span_id, _flags = stored.trace["traceparent"].split("-")
    assert (version, trace_id, span_id) == ("00", f"{context.trace_id:032x}", f"{context.span_id:016x}")


def test_the_attempt_span_continues_the_creators_trace(sup: actors.Supervisor, exporter: InMemorySpanExporter) -> None:
    sup.register_task_worker(TaskWorker("ECHO", echo, queue="mail"))
    with trace.get_tracer("test").start_as_current_span("creator") as creator:
        task_id = sup.create_task("ECHO")
    assert sup.wait(task_id, timeout=10) == "ok"
    [span] = attempt_spans(exporter, "ECHO")
    context = creator.get_span_context()
    assert span.context is not None and span.context.trace_id == context.trace_id
    assert span.parent is not None and span.parent.span_id == context.span_id
    assert span.kind is trace.SpanKind.CONSUMER
    assert dict(span.attributes or {}) == {
        "actors.task.id": task_id, "actors.task.name": "ECHO", "actors.task.attempt": 1,
        "actors.task.iteration": 1, "actors.queue": "mail", "actors.outcome": "Succeeded"}
    assert span.status.status_code is trace.StatusCode.UNSET and span.end_time is not None


def test_an_attempt_that_raised_ends_its_span_in_error(sup: actors.Supervisor, exporter: InMemorySpanExporter) -> None:
    sup.register_task_worker(TaskWorker("BROKEN", broken))
    task_id = sup.create_task("BROKEN", max_attempts=1)
    with pytest.raises(actors.TaskFailed):
        sup.wait(task_id, timeout=10)
    [span] = attempt_spans(exporter, "BROKEN")
    assert span.status.status_code is trace.StatusCode.ERROR
    assert "RuntimeError: it broke" in (span.status.description or "")
    [event] = [event for event in span.events if event.name == "exception"]
    attributes = dict(event.attributes or {})
    assert (attributes["exception.type"], attributes["exception.message"]) == ("RuntimeError", "it broke")
    assert "broken" in str(attributes["exception.stacktrace"])


def test_no_span_context_stores_no_trace_and_the_attempt_span_is_a_root(
        sup: actors.Supervisor, exporter: InMemorySpanExporter) -> None:
    sup.register_task_worker(TaskWorker("ECHO", echo))
    task_id = sup.create_task("ECHO")
    assert sup.get_task(task_id).trace is None  # type: ignore[union-attr]
    assert sup.wait(task_id, timeout=10) == "ok"
    [span] = attempt_spans(exporter, "ECHO")
    assert span.parent is None and dict(span.attributes or {})["actors.queue"] == "default"


def test_a_task_created_by_a_running_task_continues_the_trace(
        sup: actors.Supervisor, exporter: InMemorySpanExporter) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        return str(ctx.create_task("ECHO"))

    sup.register_task_worker(TaskWorker("ECHO", echo))
    sup.register_task_worker(TaskWorker("PARENT", parent))
    with trace.get_tracer("test").start_as_current_span("creator") as creator:
        parent_id = sup.create_task("PARENT")
    child_id = sup.wait(parent_id, timeout=10)
    assert sup.wait(child_id, timeout=10) == "ok"
    [outer] = attempt_spans(exporter, "PARENT")
    [inner] = attempt_spans(exporter, "ECHO")
    assert outer.context is not None and inner.context is not None and inner.parent is not None
    assert inner.context.trace_id == outer.context.trace_id == creator.get_span_context().trace_id
    assert inner.parent.span_id == outer.context.span_id


def test_an_async_create_inside_a_span_stores_its_trace(sup: actors.Supervisor, exporter: InMemorySpanExporter) -> None:
    async def main() -> tuple[str, trace.Span]:
        with trace.get_tracer("test").start_as_current_span("async creator") as creator:
            return await sup.aio.create_task("ECHO", delay=3600), creator

    task_id, creator = asyncio.run(main())
    stored = sup.get_task(task_id)
    assert stored is not None and stored.trace is not None
    assert f"{creator.get_span_context().span_id:016x}" in stored.trace["traceparent"]


def test_an_explicit_trace_is_kept_and_a_bad_one_refused(sup: actors.Supervisor) -> None:
    carrier = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    task_id = sup.create_task("ECHO", trace=carrier, delay=3600)
    assert sup.get_task(task_id).trace == carrier  # type: ignore[union-attr]
    with pytest.raises(actors.ValidationError) as caught:
        sup.create_task("ECHO", trace={"traceparent": 7})
    assert caught.value.field == "trace"
    with pytest.raises(actors.ValidationError):
        sup.create_task("ECHO", trace="00-abc")


def test_without_opentelemetry_nothing_is_traced_and_tasks_run(
        sup: actors.Supervisor, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "api", lambda: None)
    assert tracing.available() is False
    sup.register_task_worker(TaskWorker("ECHO", echo))
    with trace.get_tracer("test").start_as_current_span("creator"):
        task_id = sup.create_task("ECHO")
        assert tracing.capture() is None
    assert sup.get_task(task_id).trace is None  # type: ignore[union-attr]
    assert sup.wait(task_id, timeout=10) == "ok"
    assert [span.name for span in exporter.get_finished_spans()] == ["creator"]


def test_without_an_sdk_an_attempt_starts_no_span(sup: actors.Supervisor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "get_tracer_provider", trace.ProxyTracerProvider)
    task = actors.Task(id="t", name="ECHO", trace={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-"
                                                                  "b7ad6b7169203331-01"})
    assert tracing.available() is True
    assert tracing.start_attempt(task, 1) is None
    assert tracing.capture() is None  # no current span


def test_every_task_of_a_batch_carries_the_creators_trace_unless_it_gives_its_own(
        sup: actors.Supervisor, exporter: InMemorySpanExporter) -> None:
    own = {"traceparent": "00-" + "3" * 32 + "-" + "4" * 16 + "-01"}
    with trace.get_tracer("test").start_as_current_span("creator") as creator:
        ids = sup.create_tasks([{"name": "ECHO", "delay": 3600}, {"name": "ECHO", "delay": 3600, "trace": own},
                                {"name": "ECHO", "delay": 3600}])
    span_id = f"{creator.get_span_context().span_id:016x}"
    traces = [task.trace for task in map(sup.get_task, ids) if task is not None]
    assert [carrier["traceparent"].split("-")[2] for carrier in traces if carrier] == [span_id, "4" * 16, span_id]


def test_a_process_that_never_imported_opentelemetry_does_not_import_it_to_create_or_run() -> None:
    """No span can be current, and no SDK set, before ``opentelemetry.trace`` is imported: creates
    and attempts skip the API (one dict lookup) and leave the process without it."""
    import subprocess
    import sys

    code = ("import sys, actors\n"
            "with actors.Supervisor.start('memory://', workers=0) as sup:\n"
            "    task_id = sup.create_task('ECHO')\n"
            "    assert sup.get_task(task_id).trace is None\n"
            "assert actors.tracing.start_attempt(actors.Task(id='t', name='ECHO'), 1) is None\n"
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
