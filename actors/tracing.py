"""Optional OpenTelemetry: the creator's trace context carried to the task, a span per attempt.

The one module that imports ``opentelemetry`` (extra ``actors[otel]``: ``opentelemetry-api``),
lazily and once per process (:func:`api`). Without it nothing here does anything, and the rest
of actors never notices. With the API installed but no SDK configured (the global tracer
provider is still the API's proxy or no-op one) an attempt costs one provider check.

- :func:`capture` (every create, in the creating thread): the current span's context as a W3C
  carrier (``{"traceparent": ..., "tracestate": ...}``, the global propagator's ``inject``),
  stored as ``Task.trace`` (JSON); None without a valid current span.
- :func:`start_attempt` (``attempt.run_attempt``, where the attempt runs: the pool child, the
  executor thread, inline): a span ``actors.attempt <task name>`` of kind CONSUMER whose parent
  is the extracted ``Task.trace`` (a root span without one), current while the attempt runs (so
  a ``ctx.create_task`` inside continues the trace), with the attributes ``actors.task.id``,
  ``actors.task.name``, ``actors.task.attempt``, ``actors.task.iteration``, ``actors.queue``
  and ``actors.outcome``; status ERROR with an ``exception`` event when the attempt raised.

The spans go to whatever SDK the process configured (a pool child: the worker module's import,
or ``opentelemetry-instrument``'s environment, which a child inherits).
"""

from __future__ import annotations

import functools
import os
import sys
from typing import TYPE_CHECKING, Any, Protocol

from .spec import MAX_TRACE_ENTRIES, MAX_TRACE_VALUE

if TYPE_CHECKING:
    from .models import Outcome, Task

__all__ = ["AttemptSpan", "api", "available", "capture", "start_attempt"]

#: The instrumentation scope of actors' spans.
SCOPE = "actors"


class AttemptSpan(Protocol):
    """The span of one running attempt (current in the running thread until ``end``)."""

    def end(self, outcome: Outcome | None) -> None:
        """Record how the attempt ended (None: interrupted), make it no longer current, end it."""


class _Api:
    """What actors uses of ``opentelemetry`` (imported by :func:`api` only)."""

    def __init__(self) -> None:
        from opentelemetry import context, propagate, trace

        self.trace = trace
        self.context = context
        self.propagate = propagate
        self._idle = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)

    def configured(self) -> bool:
        """True once a real tracer provider (an SDK) is set for this process."""
        return not isinstance(self.trace.get_tracer_provider(), self._idle)

    def capture(self) -> dict[str, str] | None:
        if not self.trace.get_current_span().get_span_context().is_valid:
            return None
        carrier: dict[str, str] = {}
        self.propagate.inject(carrier)
        kept = {key: value for key, value in carrier.items()
                if isinstance(key, str) and key and isinstance(value, str) and len(value) <= MAX_TRACE_VALUE}
        return dict(list(kept.items())[:MAX_TRACE_ENTRIES]) or None

    def start(self, task: Task, attempt: int) -> AttemptSpan:
        parent = self.propagate.extract(task.trace or {}, context=self.context.Context())
        tracer = self.trace.get_tracer(SCOPE)
        span = tracer.start_span(
            f"actors.attempt {task.name}", context=parent, kind=self.trace.SpanKind.CONSUMER,
            attributes={"actors.task.id": task.id, "actors.task.name": task.name, "actors.task.attempt": attempt,
                        "actors.task.iteration": task.iteration, "actors.queue": task.queue or "default"})
        token = self.context.attach(self.trace.set_span_in_context(span))
        return _Span(self, span, token)


class _Span:
    def __init__(self, otel: _Api, span: Any, token: object) -> None:
        self._otel = otel
        self._span = span
        self._token = token

    def end(self, outcome: Outcome | None) -> None:
        from .models import Raised

        span, trace = self._span, self._otel.trace
        try:
            span.set_attribute("actors.outcome", "Interrupted" if outcome is None else type(outcome).__name__)
            if outcome is None:
                span.set_status(trace.Status(trace.StatusCode.ERROR, "interrupted"))
            elif isinstance(outcome, Raised):
                span.add_event("exception", {"exception.type": outcome.type, "exception.message": outcome.message,
                                             "exception.stacktrace": outcome.traceback})
                span.set_status(trace.Status(trace.StatusCode.ERROR, outcome.describe()))
        finally:
            self._otel.context.detach(self._token)
            span.end()


@functools.cache
def api() -> _Api | None:
    """The OpenTelemetry API, or None when it is not importable (asked once per process)."""
    try:
        return _Api()
    except ImportError:
        return None


def available() -> bool:
    """True when ``opentelemetry-api`` is importable."""
    return api() is not None


def capture() -> dict[str, str] | None:
    """The current span's trace context as a W3C carrier, or None (no API, no valid span).
    Never raises: a broken propagator only loses the trace. A process that never imported
    ``opentelemetry.trace`` has no current span: the API is not imported for it (a create
    then costs one dict lookup, and the process no import)."""
    if "opentelemetry.trace" not in sys.modules:
        return None
    otel = api()
    if otel is None:
        return None
    try:
        return otel.capture()
    except Exception:
        return None


def start_attempt(task: Task, attempt: int) -> AttemptSpan | None:
    """The started (and current) span of ``task``'s attempt ``attempt``, or None when there is
    nothing to record it (no API, or no SDK configured in this process). An SDK is configured
    by importing ``opentelemetry`` (the worker's module, ``opentelemetry-instrument``'s start-up)
    or named by ``OTEL_PYTHON_TRACER_PROVIDER``: without either, the API is not imported."""
    if "opentelemetry.trace" not in sys.modules and not os.environ.get("OTEL_PYTHON_TRACER_PROVIDER"):
        return None
    otel = api()
    if otel is None:
        return None
    try:
        return otel.start(task, attempt) if otel.configured() else None
    except Exception:  # a broken SDK loses the span, never the attempt
        return None
