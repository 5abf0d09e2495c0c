"""``/metrics``: Prometheus text from the app's own registry — counters fed by the node's events,
gauges read from its stats at each scrape."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

import actors
from actors import ManualClock, Retry, TaskWorker
from actors.web import create_app
from tests.helpers import EventLog

from .conftest import echo


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``: (name, sorted labels) → value."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def test_tasks_by_state_and_queue_depth_and_the_oldest_due_age(client: TestClient, sup: actors.Supervisor,
                                                              clock: ManualClock) -> None:
    for _ in range(2):
        sup.create_task("NOBODY", queue="emails")
    sup.create_task("NOBODY")  # the default queue
    later = sup.create_task("NOBODY", queue="reports", delay=3600)
    sup.cancel_task(later)
    sup.create_task("NOBODY", queue="reports", delay=3600)  # not due: no age
    clock.advance(30)
    samples = scrape(client)
    assert samples["actors_tasks", (("queue", "emails"), ("state", "pending"))] == 2
    assert samples["actors_tasks", (("queue", "reports"), ("state", "cancelled"))] == 1
    assert samples["actors_queue_depth", (("queue", "emails"),)] == 2
    assert samples["actors_queue_depth", (("queue", "default"),)] == 1
    assert samples["actors_queue_oldest_due_age_seconds", (("queue", "emails"),)] == 30
    assert samples["actors_queue_oldest_due_age_seconds", (("queue", "default"),)] == 30
    assert samples["actors_queue_oldest_due_age_seconds", (("queue", "reports"),)] == 0
    assert samples["actors_health_ok", ()] == 1
    assert samples["actors_workers_busy", ()] == 0 and ("actors_workers_idle", ()) in samples
    errors = {labels: value for (name, labels), value in samples.items() if name == "actors_store_errors_total"}
    assert (("where", "loop:heartbeat"),) in errors and set(errors.values()) == {0}
    assert samples["actors_event_drops_total", ()] == 0


def test_attempts_and_their_durations_are_counted_from_the_events(client: TestClient, sup: actors.Supervisor,
                                                                 clock: ManualClock) -> None:
    log = EventLog()
    sup.subscribe(log)  # after the app's own subscriber: once it has an event, the metrics have it too
    sup.register_task_worker(TaskWorker("ECHO", echo, retry=Retry(max_attempts=2, min_delay=5, jitter=False)))
    ok = sup.create_task("ECHO")
    sup.wait(ok, timeout=10)
    bad = sup.create_task("ECHO", metadata={"fail": True})
    log.wait_kinds(bad, "retrying")
    clock.advance(5)
    sup.tick()
    log.wait_kinds(bad, "failed")
    samples = scrape(client)
    labels = (("name", "ECHO"), ("queue", "default"))
    assert samples["actors_attempts_started_total", labels] == 3
    assert samples["actors_attempts_succeeded_total", labels] == 1
    assert samples["actors_attempts_retried_total", labels] == 1
    assert samples["actors_attempts_failed_total", labels] == 1
    assert samples["actors_attempt_duration_seconds_count", labels] == 3


def test_each_app_has_its_own_registry(sup: actors.Supervisor) -> None:
    # two apps on one node (no global state): each counts, neither refuses the other's names
    log = EventLog()
    with TestClient(create_app(sup)) as first, TestClient(create_app(sup)) as second:
        sup.subscribe(log)
        sup.register_task_worker(TaskWorker("ECHO", echo))
        sup.wait(sup.create_task("ECHO"), timeout=10)
        log.wait_for(lambda events: any(event.kind == "succeeded" for event in events))
        key = ("actors_attempts_succeeded_total", (("name", "ECHO"), ("queue", "default")))
        assert scrape(first)[key] == scrape(second)[key] == 1
