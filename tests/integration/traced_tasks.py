"""Task functions for the OpenTelemetry integration test, and the SDK a pool child configures
when it imports this module (as a user's worker module would): a ``SimpleSpanProcessor`` writing
each finished span as one JSON line to the file named by ``SPANS_ENV`` (the test sets it before
the node starts its children; the test process itself never configures an SDK here)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

#: The environment variable naming the JSON lines file of the child's spans.
SPANS_ENV = "ACTORS_TEST_SPANS"


class JsonLines(SpanExporter):
    """Each span as ``{"name", "trace_id", "span_id", "parent_id", "attributes", "status", "pid"}``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with open(self.path, "a") as out:
            for span in spans:
                context = span.get_span_context()
                out.write(json.dumps({
                    "name": span.name, "trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}",
                    "parent_id": None if span.parent is None else f"{span.parent.span_id:016x}",
                    "attributes": dict(span.attributes or {}), "status": span.status.status_code.name,
                    "pid": os.getpid()}) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def _configure() -> None:
    path = os.environ.get(SPANS_ENV)
    if path and sys.argv[:1] == ["-c"]:  # a pool child (``python -c``), never the test process
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(JsonLines(path)))
        trace.set_tracer_provider(provider)


_configure()


def traced(ctx: Any, options: dict[str, Any], task: Any) -> int:
    """Answers this child's pid."""
    return os.getpid()


def traced_parent(ctx: Any, options: dict[str, Any], task: Any) -> str:
    """Creates a ``TRACED`` task from the child (the create travels to the node) and answers its id."""
    return str(ctx.create_task("TRACED"))


def traced_failure(ctx: Any, options: dict[str, Any], task: Any) -> None:
    raise ValueError("traced failure")
