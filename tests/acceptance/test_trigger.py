"""Trigger.dev tasks (seed 002): the README's "Trigger.dev" table, the rows that work today."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import actors
from actors.testing import advance, assert_enqueued, drain, eventually


def hello_world(ctx: Any, payload: dict[str, Any], task: actors.Task) -> dict[str, str]:
    return {"message": f"Hello, {payload['name']}!"}


def test_define_a_task_with_an_id_and_a_run_function(supervisor: actors.Supervisor) -> None:
    task = actors.worker("hello-world")(hello_world)
    supervisor.register_task_worker(task)
    assert supervisor.get_task_worker("hello-world") is task
    with pytest.raises(actors.ValidationError, match="name"):
        actors.TaskWorker("", hello_world)


def test_trigger_from_backend_code(supervisor: actors.Supervisor) -> None:
    run_id = supervisor.create_task("hello-world", metadata={"name": "James"})
    assert_enqueued(supervisor, name="hello-world", metadata={"name": "James"})  # no worker here yet: it waits
    supervisor.register_task_worker(actors.TaskWorker("hello-world", hello_world))
    drain(supervisor)
    assert supervisor.wait(run_id, timeout=10) == {"message": "Hello, James!"}


def test_the_return_value_is_the_json_result(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("not-json", lambda ctx, payload, task: object()))
    supervisor.register_task_worker(actors.TaskWorker("json", lambda ctx, payload, task: {"n": [1, 2.5, None]}))
    good, bad = supervisor.create_task("json"), supervisor.create_task("not-json")
    failed = drain(supervisor, fail_fast=False).failed
    assert supervisor.get_task(good).result == {"n": [1, 2.5, None]}  # type: ignore[union-attr]
    assert [t.id for t in failed] == [bad]


def test_retry_options_with_back_off(supervisor: actors.Supervisor) -> None:
    def flaky(ctx: Any, payload: dict[str, Any], task: actors.Task) -> str:
        if ctx.attempt < 3:
            raise ConnectionError("flaky")
        return "ok"

    retry = actors.Retry(max_attempts=3, factor=2.0, min_delay=1.0, max_delay=60.0, jitter=False)
    supervisor.register_task_worker(actors.TaskWorker("flaky", flaky, retry=retry))
    run_id = supervisor.create_task("flaky")
    start = supervisor.clock.now()
    drain(supervisor, with_scheduled=True)
    assert supervisor.clock.now() - start == 1.0 + 2.0  # 1 s, then 2 s
    task = supervisor.get_task(run_id)
    assert (task.result, task.attempts) == ("ok", 3)  # type: ignore[union-attr]


class Held:
    """A worker whose runs wait until released; it records which payload ``user`` started."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, ctx: Any, payload: dict[str, Any], task: actors.Task) -> None:
        with self._lock:
            self.started.append(payload["user"])
        self.release.wait(10)


@pytest.mark.actors(workers=2)
def test_queue_concurrency_limit(supervisor: actors.Supervisor) -> None:
    held = Held()
    supervisor.set_queue("one-at-a-time", concurrency=1)
    supervisor.register_task_worker(actors.TaskWorker("generate", held, queue="one-at-a-time"))
    ada, bob = (supervisor.create_task("generate", metadata={"user": user}) for user in ("ada", "bob"))
    eventually(lambda: held.started)
    supervisor.tick()
    statuses = [supervisor.get_task(t).status for t in (ada, bob)]  # type: ignore[union-attr]
    assert statuses == [actors.TaskStatus.RUNNING, actors.TaskStatus.PENDING]  # two free workers, one slot
    held.release.set()
    drain(supervisor)
    assert held.started == ["ada", "bob"]


@pytest.mark.actors(workers=2)
def test_concurrency_key_per_user(supervisor: actors.Supervisor) -> None:
    held = Held()
    supervisor.set_queue("per-user", key_concurrency=1)
    supervisor.register_task_worker(actors.TaskWorker("generate", held, queue="per-user"))
    for user in ("ada", "ada", "bob"):
        supervisor.create_task("generate", metadata={"user": user}, concurrency_key=user)
    eventually(lambda: len(held.started) == 2)
    assert sorted(held.started) == ["ada", "bob"]  # the second ada waits for the first
    held.release.set()
    drain(supervisor)
    assert sorted(held.started) == ["ada", "ada", "bob"]


def test_scheduled_task(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("daily-report", lambda ctx, payload, task: payload["kind"]))
    schedule = supervisor.schedule("daily-report", every=3600, metadata={"kind": "daily"})
    assert [s.key for s in supervisor.get_schedules()] == [schedule.key]
    assert advance(supervisor, 3600).succeeded == 1
    assert advance(supervisor, 3600).succeeded == 1


def test_idempotency_key_with_a_ttl(supervisor: actors.Supervisor) -> None:
    first = supervisor.create_task("charge", idempotency_key="order-42", idempotency_ttl=3600, delay=7200)
    assert supervisor.create_task("charge", idempotency_key="order-42", idempotency_ttl=3600) == first
    supervisor.clock.advance(3601)  # type: ignore[attr-defined]
    assert supervisor.create_task("charge", idempotency_key="order-42", idempotency_ttl=3600) != first
