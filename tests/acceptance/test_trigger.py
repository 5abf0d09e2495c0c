"""Trigger.dev tasks (seed 002): the README's "Trigger.dev" table, the rows that work today."""

from __future__ import annotations

import threading
from typing import Any

import pydantic
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


def test_trigger_and_wait_from_another_task(supervisor: actors.Supervisor) -> None:
    def parent(ctx: Any, payload: dict[str, Any], task: actors.Task) -> dict[str, Any]:
        greeting = ctx.trigger_and_wait("hello-world", metadata={"name": "Ada"})
        runs = ctx.batch_trigger_and_wait([{"name": "hello-world", "metadata": {"name": n}} for n in ("Bo", "Cy")]
                                          + [{"name": "broken"}])
        try:
            ctx.trigger_and_wait("broken")
        except actors.TaskFailed as failed:  # a failed child raises where triggerAndWait would not be ok
            raised = failed.error
        return {"first": greeting["message"], "ok": [run.ok for run in runs],
                "outputs": [run.output["message"] for run in runs if run.ok],
                "error": "nope" in str(runs[-1].error), "raised": raised}

    def broken(ctx: Any, payload: dict[str, Any], task: actors.Task) -> None:
        raise actors.AbortTask("nope")

    supervisor.register_task_worker(actors.TaskWorker("hello-world", hello_world))
    supervisor.register_task_worker(actors.TaskWorker("broken", broken))
    supervisor.register_task_worker(actors.TaskWorker("parent", parent))  # one worker: the wait holds none
    run_id = supervisor.create_task("parent")
    drain(supervisor, fail_fast=False)
    assert supervisor.wait(run_id, timeout=10) == {"first": "Hello, Ada!", "ok": [True, True, False],
                                                    "outputs": ["Hello, Bo!", "Hello, Cy!"], "error": True,
                                                    "raised": "AbortTask: nope"}
    children = supervisor.get_tasks(parent_id=run_id)
    assert sorted(t.name for t in children) == ["broken"] * 2 + ["hello-world"] * 3  # once each, though it re-ran


def test_a_waiting_run_holds_no_queue_slot(supervisor: actors.Supervisor) -> None:
    def fan_out(ctx: Any, payload: dict[str, Any], task: actors.Task) -> list[Any]:
        runs = ctx.batch_trigger_and_wait([{"name": "double", "metadata": {"n": n}} for n in range(3)])
        return [run.output for run in runs]

    supervisor.set_queue("one-at-a-time", concurrency=1)  # the parent and its children share one slot
    supervisor.register_task_worker(actors.TaskWorker("double", lambda ctx, payload, task: payload["n"] * 2,
                                                      queue="one-at-a-time"))
    supervisor.register_task_worker(actors.TaskWorker("fan-out", fan_out, queue="one-at-a-time"))
    run_id = supervisor.create_task("fan-out")
    drain(supervisor)
    assert supervisor.wait(run_id, timeout=10) == [0, 2, 4]


def test_init_cleanup_and_middleware(supervisor: actors.Supervisor) -> None:
    calls: list[str] = []

    def init(ctx: Any, payload: dict[str, Any]) -> dict[str, str]:
        calls.append("init")
        return {"db": "connected"}

    def middleware(ctx: Any, payload: dict[str, Any], call_next: Any) -> Any:
        calls.append("middleware before")
        result = call_next()
        calls.append("middleware after")
        return {**result, "wrapped": True}

    def run(ctx: Any, payload: dict[str, Any], task: actors.Task) -> dict[str, Any]:
        calls.append("run")
        return {"db": ctx.init["db"]}

    supervisor.register_task_worker(actors.TaskWorker(
        "with-hooks", run, init=init, middleware=[middleware],
        cleanup=lambda ctx, payload: calls.append(f"cleanup {ctx.init['db']}")))
    run_id = supervisor.create_task("with-hooks")
    drain(supervisor)
    assert supervisor.get_task(run_id).result == {"db": "connected", "wrapped": True}  # type: ignore[union-attr]
    assert calls == ["init", "middleware before", "run", "middleware after", "cleanup connected"]


def test_cleanup_runs_after_a_failed_attempt_too(supervisor: actors.Supervisor) -> None:
    cleaned: list[int] = []
    supervisor.register_task_worker(actors.TaskWorker(
        "fails", lambda ctx, payload, task: 1 / 0, retry=actors.Retry(max_attempts=2, min_delay=1, jitter=False),
        cleanup=lambda ctx, payload: cleaned.append(ctx.attempt)))
    supervisor.create_task("fails")
    assert len(drain(supervisor, fail_fast=False, with_scheduled=True).failed) == 1
    assert cleaned == [1, 2]  # after every attempt


def test_on_success_and_on_failure(supervisor: actors.Supervisor) -> None:
    seen: list[tuple[str, Any]] = []

    def flaky(ctx: Any, payload: dict[str, Any], task: actors.Task) -> str:
        if payload["fail"]:
            raise ConnectionError(f"attempt {ctx.attempt} failed")
        return "ok"

    supervisor.register_task_worker(actors.TaskWorker(
        "notify", flaky, retry=actors.Retry(max_attempts=2, min_delay=1, jitter=False),
        on_success=lambda ctx, payload, result: seen.append(("success", result)),
        on_failure=lambda ctx, payload, error: seen.append(("failure", str(error)))))
    supervisor.create_task("notify", metadata={"fail": False})
    supervisor.create_task("notify", metadata={"fail": True})
    drain(supervisor, fail_fast=False, with_scheduled=True)
    assert seen == [("success", "ok"), ("failure", "attempt 2 failed")]  # on_failure once the retries are spent


def test_global_lifecycle_hooks_and_middleware(supervisor: actors.Supervisor) -> None:
    seen: list[tuple[str, str]] = []
    supervisor.on("start", lambda ctx, payload: seen.append(("start", ctx.task.name)))
    supervisor.on("failure", lambda ctx, payload, error: seen.append(("failure", ctx.task.name)))
    supervisor.use(lambda ctx, payload, call_next: {"traced": call_next()})
    supervisor.register_task_worker(actors.TaskWorker("hello-world", hello_world))
    supervisor.register_task_worker(actors.TaskWorker("broken", lambda ctx, p, t: 1 / 0, retry=actors.Retry(1)))
    ok = supervisor.create_task("hello-world", metadata={"name": "Ada"})
    supervisor.create_task("broken")
    drain(supervisor, fail_fast=False)
    assert supervisor.get_task(ok).result == {"traced": {"message": "Hello, Ada!"}}  # type: ignore[union-attr]
    assert seen == [("start", "hello-world"), ("start", "broken"), ("failure", "broken")]


def test_abort_task_run_error_fails_without_retrying(supervisor: actors.Supervisor) -> None:
    def charge(ctx: Any, payload: dict[str, Any], task: actors.Task) -> None:
        raise actors.AbortTask("card declined")

    supervisor.register_task_worker(actors.TaskWorker("charge", charge, retry=actors.Retry(max_attempts=5)))
    run_id = supervisor.create_task("charge")
    with pytest.raises(actors.TaskFailed, match="card declined"):
        drain(supervisor, with_scheduled=True)
    assert supervisor.get_task(run_id).attempts == 1  # type: ignore[union-attr]


def test_catch_error_decides_the_retry(supervisor: actors.Supervisor) -> None:
    class BadAddress(Exception):
        pass

    def send(ctx: Any, payload: dict[str, Any], task: actors.Task) -> None:
        raise BadAddress(payload["to"]) if payload["to"] == "nobody" else TimeoutError("smtp slow")

    def catch_error(ctx: Any, payload: dict[str, Any], error: BaseException) -> float | bool | None:
        return False if isinstance(error, BadAddress) else 30.0  # fail now, or retry in 30 s

    supervisor.register_task_worker(actors.TaskWorker("send", send, retry=actors.Retry(max_attempts=3, min_delay=1),
                                                      catch_error=catch_error))
    bad = supervisor.create_task("send", metadata={"to": "nobody"})
    slow = supervisor.create_task("send", metadata={"to": "ada@example.com"})
    drain(supervisor, fail_fast=False)
    bad_task, slow_task = supervisor.get_task(bad), supervisor.get_task(slow)
    assert bad_task is not None and (bad_task.status, bad_task.attempts) == (actors.TaskStatus.FAILED, 1)
    assert slow_task is not None and slow_task.status is actors.TaskStatus.PENDING
    assert slow_task.run_at is not None and slow_task.run_at.timestamp() == supervisor.clock.now() + 30


class Greeting(pydantic.BaseModel):
    name: str
    times: int = 1


def test_schema_task(supervisor: actors.Supervisor) -> None:
    def greet(ctx: Any, payload: Greeting, task: actors.Task) -> str:
        return " ".join([f"Hello, {payload.name}!"] * payload.times)  # the model instance

    supervisor.register_task_worker(actors.TaskWorker("greet", greet, schema=Greeting))
    with pytest.raises(actors.ValidationError, match="times") as info:
        supervisor.create_task("greet", metadata={"name": "Ada", "times": "many"})
    assert (info.value.field, info.value.value) == ("times", "many")
    assert supervisor.get_tasks(name="greet") == []  # nothing stored
    run_id = supervisor.create_task("greet", metadata={"name": "Ada", "times": 2})
    drain(supervisor)
    task = supervisor.get_task(run_id)
    assert task is not None and task.metadata == {"name": "Ada", "times": 2}
    assert task.result == "Hello, Ada! Hello, Ada!"


def test_a_durable_step_is_not_run_again_on_a_retry(supervisor: actors.Supervisor) -> None:
    charged: list[str] = []

    def charge() -> str:
        charged.append("charged")
        return "receipt-1"

    def checkout(ctx: Any, payload: dict[str, Any], task: actors.Task) -> str:
        receipt = ctx.step("charge", charge)
        if ctx.attempt == 1:
            raise ConnectionError("the mailer is down")
        return f"mailed {receipt}"

    supervisor.register_task_worker(actors.TaskWorker("checkout", checkout,
                                                      retry=actors.Retry(max_attempts=2, min_delay=1, jitter=False)))
    run_id = supervisor.create_task("checkout")
    drain(supervisor, with_scheduled=True)
    task = supervisor.get_task(run_id)
    assert task is not None and (task.result, task.attempts) == ("mailed receipt-1", 2)
    assert charged == ["charged"] and task.steps == {"charge": "receipt-1"}
