"""``GET /metrics``: Prometheus text, from one registry per app (no global state).

The only module that imports ``prometheus_client``. Two sources:

- counted from the node's events (``sup.subscribe``, made when the app is created): attempts
  ``started`` / ``succeeded`` / ``failed`` (for good) / ``retried``, and their durations (from
  an attempt's ``started`` event to its end) as a histogram, by queue and task name;
- read from ``sup.stats()`` and ``sup.get_queues()`` at each scrape: tasks by state and queue,
  each queue's depth (pending tasks) and the age of its oldest due task, workers busy / idle,
  live nodes, store errors (``stats()["health"]``: failures per loop and per operation),
  the node's health, and events dropped (the node's bus, ``stats()["events"]["dropped"]``, and
  the SSE connections' buffers, counted here), and the open SSE streams.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..clock import from_timestamp
from ..models import TaskStatus

if TYPE_CHECKING:
    from ..system import Supervisor

__all__ = ["OLDEST_SCAN", "Metrics"]

#: Pending tasks of a queue read (oldest created first) to find its oldest due one.
OLDEST_SCAN = 1000
#: Started attempts remembered while they run (their start times, for the durations).
RUNNING_KEPT = 100_000
#: Histogram buckets of attempt durations (seconds).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

_ENDS = {"succeeded": "succeeded", "failed": "failed", "retrying": "retried"}


class Metrics:
    """The metrics of one app: counters fed by :meth:`on_event`, gauges read at each scrape."""

    def __init__(self, sup: Supervisor) -> None:
        self.registry = CollectorRegistry()
        labels = ("queue", "name")
        self.attempts = {
            kind: Counter(f"actors_attempts_{kind}", f"Attempts {kind}", labels, registry=self.registry)
            for kind in ("started", "succeeded", "failed", "retried")
        }
        self.durations = Histogram("actors_attempt_duration_seconds", "Attempt durations, started to end",
                                   labels, registry=self.registry, buckets=BUCKETS)
        self.stream_drops = Counter("actors_sse_dropped_events", "Events dropped by slow SSE clients",
                                    registry=self.registry)
        self.streams = Gauge("actors_sse_streams", "Open /api/events streams", registry=self.registry)
        self._started: OrderedDict[str, datetime] = OrderedDict()
        self.registry.register(_StatsCollector(sup))

    def on_event(self, event: Any) -> None:
        """Count one ``actors.Event`` (called on the node's event thread)."""
        labels = (event.queue or "default", event.name)
        if event.kind == "started":
            self.attempts["started"].labels(*labels).inc()
            self._started[event.task_id] = event.at
            self._started.move_to_end(event.task_id)
            while len(self._started) > RUNNING_KEPT:
                self._started.popitem(last=False)
        elif event.kind in _ENDS:
            self.attempts[_ENDS[event.kind]].labels(*labels).inc()
            began = self._started.pop(event.task_id, None)
            if began is not None:
                self.durations.labels(*labels).observe(max(0.0, (event.at - began).total_seconds()))
        elif event.kind == "cancelled":
            self._started.pop(event.task_id, None)

    def dropped(self) -> None:
        """One event an SSE client's buffer had no room for."""
        self.stream_drops.inc()

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)

    def route(self, guard: Callable[..., None]) -> APIRouter:
        """``GET /metrics`` (behind ``guard``)."""
        router = APIRouter()

        @router.get("/metrics", tags=["metrics"], summary="Prometheus metrics", dependencies=[Depends(guard)],
                    response_class=Response,
                    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                                     "description": "Prometheus text format"}})
        def metrics() -> Response:
            """The node's metrics in Prometheus text format."""
            return Response(self.render(), media_type=CONTENT_TYPE_LATEST)

        return router


class _StatsCollector(Collector):
    """The gauges read from the node at each scrape."""

    def __init__(self, sup: Supervisor) -> None:
        self._sup = sup

    def collect(self) -> Iterator[Metric]:
        stats = self._sup.stats()
        tasks = GaugeMetricFamily("actors_tasks", "Tasks by state and queue", labels=["state", "queue"])
        depth = GaugeMetricFamily("actors_queue_depth", "Pending tasks per queue", labels=["queue"])
        for queue, info in sorted(stats.get("queues", {}).items()):
            counts = info["counts"]
            for state, count in sorted(counts.items()):
                tasks.add_metric([state, queue], count)
            depth.add_metric([queue], counts.get(TaskStatus.PENDING.value, 0))
        yield tasks
        yield depth
        yield self._oldest_due(stats)
        workers = stats.get("workers", {})
        for key in ("busy", "idle"):
            yield _gauge(f"actors_workers_{key}", f"This node's worker slots {key}", workers.get(key, 0))
        yield _gauge("actors_nodes_alive", "Live nodes sharing the store",
                     sum(1 for node in stats.get("nodes", []) if node.get("alive")))
        health = stats.get("health", {})
        yield _gauge("actors_health_ok", "1 while every loop and store operation of the node works",
                     1 if health.get("ok") else 0)
        errors = CounterMetricFamily("actors_store_errors", "Store failures per node loop and operation",
                                     labels=["where"])
        for loop, state in sorted(health.get("loops", {}).items()):
            errors.add_metric([f"loop:{loop}"], state.get("failures", 0))
        for op, state in sorted(health.get("ops", {}).items()):
            errors.add_metric([f"op:{op}"], state.get("total_failures", 0))
        yield errors
        dropped = CounterMetricFamily("actors_event_drops", "Events the node's bus dropped (slow subscribers)")
        dropped.add_metric([], stats.get("events", {}).get("dropped", 0))
        yield dropped

    def _oldest_due(self, stats: dict[str, Any]) -> Metric:
        age = GaugeMetricFamily("actors_queue_oldest_due_age_seconds",
                                "Seconds the oldest due pending task of each queue has waited", labels=["queue"])
        now = from_timestamp(self._sup.clock.now())
        for queue, info in sorted(stats.get("queues", {}).items()):
            if not info["counts"].get(TaskStatus.PENDING.value):
                age.add_metric([queue], 0.0)
                continue
            # the "default" queue holds the tasks stored without one (queue None)
            pending = self._sup.get_tasks(status=TaskStatus.PENDING, queue=None if queue == "default" else queue,
                                          limit=OLDEST_SCAN)
            due = [task.run_at for task in pending if (task.queue or "default") == queue
                   and task.run_at is not None and task.run_at <= now]
            age.add_metric([queue], (now - min(due)).total_seconds() if due else 0.0)
        return age


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
