"""Tasks that trigger and wait on other tasks (``ctx.trigger`` / ``ctx.wait``), on the inline node
with the manual clock: a wait ends the attempt (``Waiting``), the task runs again once its
children are finished, and its triggers return the same children."""

from __future__ import annotations

from typing import Any

import pytest

import actors
from actors import ManualClock, TaskWorker


def double(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["n"]) * 2


def broken(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
    raise RuntimeError("child broke")


@pytest.fixture
def runs() -> list[str]:
    return []


def test_trigger_and_wait_returns_the_childs_result_on_one_worker(sup: actors.Supervisor, runs: list[str]) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> list[int]:
        runs.append(task.id)
        return [ctx.trigger_and_wait("DOUBLE", metadata={"n": n}) for n in (1, 2, 3)]

    sup.register_task_worker(TaskWorker("DOUBLE", double))
    sup.register_task_worker(TaskWorker("PARENT", parent))
    parent_id = sup.create_task("PARENT")
    assert sup.wait(parent_id, timeout=10) == [2, 4, 6]
    children = sup.get_tasks(parent_id=parent_id)
    assert len(children) == 3 and {c.status for c in children} == {actors.TaskStatus.SUCCEEDED}
    assert len(runs) == 4  # the first run and one wake-up per child
    assert sup.get_task(parent_id).attempts == 1  # type: ignore[union-attr]  # waits spend no attempt


def test_batch_trigger_and_wait_gives_run_results_in_order(sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> list[list[Any]]:
        results = ctx.batch_trigger_and_wait([{"name": "DOUBLE", "metadata": {"n": 5}},
                                              {"name": "BROKEN"},
                                              actors.TaskSpec(name="DOUBLE", metadata={"n": 7})])
        assert all(isinstance(result, actors.RunResult) for result in results)
        return [[r.ok, r.output, r.error] for r in results]

    sup.register_task_worker(TaskWorker("DOUBLE", double))
    sup.register_task_worker(TaskWorker("BROKEN", broken))
    sup.register_task_worker(TaskWorker("PARENT", parent))
    parent_id = sup.create_task("PARENT")
    first, second, third = sup.wait(parent_id, timeout=10)
    assert first == [True, 10, None] and third == [True, 14, None]
    assert second[0] is False and second[1] is None and "child broke" in second[2]
    assert [t.name for t in sup.get_tasks(parent_id=parent_id)] == ["DOUBLE", "BROKEN", "DOUBLE"]


def test_a_failed_child_raises_task_failed_in_the_parent(sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        try:
            ctx.trigger_and_wait("BROKEN")
        except actors.TaskFailed as exc:
            return f"caught: {exc.error}"
        return "not raised"

    sup.register_task_worker(TaskWorker("BROKEN", broken))
    sup.register_task_worker(TaskWorker("PARENT", parent))
    assert sup.wait(sup.create_task("PARENT"), timeout=10) == "caught: RuntimeError: child broke"


def test_a_retried_parent_gets_the_children_it_created_first(sup: actors.Supervisor, clock: ManualClock,
                                                            runs: list[str]) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> list[str]:
        made = [ctx.trigger("NOBODY"), *ctx.batch_trigger([{"name": "NOBODY"}, {"name": "NOBODY"}])]
        runs.extend(made)
        if ctx.attempt == 1:
            raise RuntimeError("fail after triggering")
        return made

    sup.register_task_worker(TaskWorker("PARENT", parent, retry=actors.Retry(max_attempts=2, jitter=False)))
    parent_id = sup.create_task("PARENT")
    sup.join(timeout=10)
    clock.advance(5)
    sup.tick()
    made = sup.wait(parent_id, timeout=10)
    assert runs == made + made  # the second attempt got the same three ids
    assert sorted(t.id for t in sup.get_tasks(parent_id=parent_id)) == sorted(made)


def test_a_given_idempotency_key_is_kept(sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        return str(ctx.trigger("NOBODY", idempotency_key="mine"))

    sup.register_task_worker(TaskWorker("PARENT", parent))
    child = sup.wait(sup.create_task("PARENT"), timeout=10)
    assert sup.create_task("NOBODY", idempotency_key="mine") == child


def test_a_wait_times_out_with_actors_timeout(sup: actors.Supervisor, clock: ManualClock) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        try:
            ctx.trigger_and_wait("NOBODY", timeout=60)
        except actors.Timeout as exc:
            return f"timed out: {exc}"
        return "no timeout"

    sup.register_task_worker(TaskWorker("PARENT", parent))
    parent_id = sup.create_task("PARENT")
    sup.join(timeout=10)
    waiting = sup.get_task(parent_id)
    assert waiting is not None and waiting.status is actors.TaskStatus.PENDING and waiting.attempts == 0
    clock.advance(59)  # past the recheck time (lease_ttl=30): it looks again and waits on
    sup.tick()
    sup.join(timeout=10)
    assert sup.get_task(parent_id).status is actors.TaskStatus.PENDING  # type: ignore[union-attr]
    clock.advance(1)
    sup.tick()
    assert sup.wait(parent_id, timeout=10).startswith("timed out: ctx.wait: 1 task(s) not finished within 60s")


def test_ctx_wait_on_a_cancelled_task_raises_task_cancelled(sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        try:
            ctx.wait(options["other"])
        except actors.TaskCancelled:
            return "cancelled"
        return "finished"

    other = sup.create_task("NOBODY")
    sup.register_task_worker(TaskWorker("PARENT", parent))
    parent_id = sup.create_task("PARENT", metadata={"other": other})
    sup.join(timeout=10)
    assert sup.get_task(parent_id).status is actors.TaskStatus.PENDING  # type: ignore[union-attr]
    sup.cancel_task(other)  # wakes the waiting parent at once
    assert sup.wait(parent_id, timeout=10) == "cancelled"


def test_ctx_wait_on_an_unknown_task_raises_task_not_found(sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        try:
            ctx.wait("no-such-task")
        except actors.TaskNotFound:
            return "not found"
        return "found"

    sup.register_task_worker(TaskWorker("PARENT", parent))
    assert sup.wait(sup.create_task("PARENT"), timeout=10) == "not found"


def test_an_except_exception_in_the_task_does_not_swallow_the_wait(sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
        try:
            return ctx.trigger_and_wait("DOUBLE", metadata={"n": 21})
        except Exception:
            return "swallowed"

    sup.register_task_worker(TaskWorker("DOUBLE", double))
    sup.register_task_worker(TaskWorker("PARENT", parent))
    assert sup.wait(sup.create_task("PARENT"), timeout=10) == 42


def test_an_async_task_waits_too(sup: actors.Supervisor) -> None:
    async def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
        return ctx.trigger_and_wait("DOUBLE", metadata={"n": 4})

    sup.register_task_worker(TaskWorker("DOUBLE", double))
    sup.register_task_worker(TaskWorker("PARENT", parent))
    assert sup.wait(sup.create_task("PARENT"), timeout=10) == 8


@pytest.mark.parametrize(("call", "field"), [
    (lambda ctx: ctx.trigger("DOUBLE", colour="red"), "colour"),
    (lambda ctx: ctx.batch_trigger("DOUBLE"), "specs"),
    (lambda ctx: ctx.batch_trigger([{"metadata": {}}]), "specs[0].name"),
    (lambda ctx: ctx.wait("", timeout=1), "task_id"),
    (lambda ctx: ctx.trigger_and_wait("DOUBLE", timeout=-1), "timeout"),
    (lambda ctx: ctx.wait(ctx.task.id), "task_id"),
])
def test_bad_input_is_named_and_nothing_is_stored(sup: actors.Supervisor, call: Any, field: str) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        try:
            call(ctx)
        except actors.ValidationError as exc:
            return exc.field
        return "accepted"

    sup.register_task_worker(TaskWorker("PARENT", parent))
    parent_id = sup.create_task("PARENT")
    assert sup.wait(parent_id, timeout=10) == field
    if field != "timeout":
        assert sup.get_tasks(parent_id=parent_id) == []


def test_a_cancelled_waiting_parent_stays_cancelled_when_its_child_ends(sup: actors.Supervisor,
                                                                        clock: ManualClock) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
        return ctx.trigger_and_wait("LATER", metadata={"n": 1}, delay=10)

    sup.register_task_worker(TaskWorker("LATER", double))
    sup.register_task_worker(TaskWorker("PARENT", parent))
    parent_id = sup.create_task("PARENT")
    sup.join(timeout=10)
    assert sup.stats()["workers"]["busy"] == 0  # waiting: no worker held
    sup.cancel_task(parent_id)
    clock.advance(10)
    sup.tick()
    child = sup.get_tasks(parent_id=parent_id)[0]
    assert sup.wait(child.id, timeout=10) == 2
    sup.join(timeout=10)
    assert sup.get_task(parent_id).status is actors.TaskStatus.CANCELLED  # type: ignore[union-attr]


def test_a_parent_in_a_concurrency_one_queue_waits_on_a_child_of_the_same_queue(sup: actors.Supervisor) -> None:
    def parent(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
        return ctx.trigger_and_wait("DOUBLE", metadata={"n": 8}, queue="solo")

    sup.set_queue("solo", concurrency=1)
    sup.register_task_worker(TaskWorker("DOUBLE", double))
    sup.register_task_worker(TaskWorker("PARENT", parent, queue="solo"))
    parent_id = sup.create_task("PARENT")
    assert sup.wait(parent_id, timeout=10) == 16
    assert [t.queue for t in sup.get_tasks(parent_id=parent_id)] == ["solo"]
