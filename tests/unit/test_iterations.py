"""Iterations (``actors.Continue``, ``max_iterations``), logs per iteration and durable steps
(``ctx.step``), on an inline node with the manual clock: nothing sleeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import actors
from actors import ManualClock, Retry, TaskStatus, TaskWorker
from actors.iterations import MAX_ITERATIONS_EXCEEDED


def walk(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
    """Walk a cursor to ``options["end"]``, one step per iteration, ``options["delay"]`` apart."""
    ctx.log.info("iteration %d at %d", ctx.iteration, options["cursor"])
    if options["cursor"] < options["end"]:
        return actors.Continue(options={**options, "cursor": options["cursor"] + 1},
                               delay=options.get("delay", 0))
    return {"cursor": options["cursor"], "iteration": ctx.iteration}


def get(sup: actors.Supervisor, task_id: str) -> actors.Task:
    task = sup.get_task(task_id)
    assert task is not None
    return task


def test_continue_runs_the_same_task_again_with_the_new_options(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("WALK", walk))
    task_id = sup.create_task("WALK", metadata={"cursor": 0, "end": 3})
    assert sup.wait(task_id, timeout=10) == {"cursor": 3, "iteration": 4}
    task = get(sup, task_id)
    assert (task.status, task.iteration, task.attempts, task.metadata) == (
        TaskStatus.SUCCEEDED, 4, 1, {"cursor": 3, "end": 3})
    assert sup.get_tasks(name="WALK") == [task]  # one task, never a new id


def test_continue_with_a_delay_waits_in_the_store(sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("WALK", walk))
    task_id = sup.create_task("WALK", metadata={"cursor": 0, "end": 1, "delay": 30})
    sup.join(timeout=10)
    task = get(sup, task_id)
    assert (task.status, task.iteration, task.attempts, task.metadata["cursor"]) == (TaskStatus.PENDING, 2, 0, 1)
    assert task.run_at is not None and task.run_at.timestamp() == clock.now() + 30
    clock.advance(29)
    sup.tick()
    sup.join(timeout=10)
    assert get(sup, task_id).status is TaskStatus.PENDING
    clock.advance(1)
    sup.tick()
    assert sup.wait(task_id, timeout=10) == {"cursor": 1, "iteration": 2}


def test_continue_without_options_keeps_the_metadata_and_accepts_a_timedelta(sup: actors.Supervisor,
                                                                            clock: ManualClock) -> None:
    def once_more(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
        if ctx.iteration == 1:
            ctx.set_metadata(seen=True)
            return actors.Continue(delay=timedelta(seconds=5))
        return options

    sup.register_task_worker(TaskWorker("AGAIN", once_more))
    task_id = sup.create_task("AGAIN", metadata={"a": 1})
    sup.join(timeout=10)
    clock.advance(5)
    sup.tick()
    assert sup.wait(task_id, timeout=10) == {"a": 1, "seen": True}


def test_attempts_reset_each_iteration_and_a_continue_is_not_a_failure(sup: actors.Supervisor,
                                                                       clock: ManualClock) -> None:
    def flaky(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
        if ctx.attempt == 1:
            raise ConnectionError(f"down in iteration {ctx.iteration}")
        return actors.Continue() if ctx.iteration < 2 else (ctx.iteration, ctx.attempt, task.failure_count)

    sup.register_task_worker(TaskWorker("FLAKY", flaky, retry=Retry(max_attempts=2, min_delay=1, jitter=False)))
    task_id = sup.create_task("FLAKY")
    for _ in range(3):
        sup.join(timeout=10)
        clock.advance(1)
        sup.tick()
    assert sup.wait(task_id, timeout=10) == [2, 2, 1]


def test_max_iterations_defaults_to_500(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("FOREVER", lambda ctx, options, task: actors.Continue()))
    task_id = sup.create_task("FOREVER")
    with pytest.raises(actors.TaskFailed, match="max_iterations=500"):
        sup.wait(task_id, timeout=60)
    task = get(sup, task_id)
    assert (task.status, task.iteration, task.attempts) == (TaskStatus.FAILED, 500, 1)
    assert task.error is not None and task.error.startswith(MAX_ITERATIONS_EXCEEDED)


def test_max_iterations_of_the_worker_and_of_the_task(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("FOREVER", lambda ctx, options, task: actors.Continue(),
                                        max_iterations=3, retry=Retry(max_attempts=5, min_delay=0)))
    from_worker = sup.create_task("FOREVER")
    own = sup.create_task("FOREVER", max_iterations=5)
    with pytest.raises(actors.TaskFailed, match="max_iterations=3"):
        sup.wait(from_worker, timeout=10)
    with pytest.raises(actors.TaskFailed, match="max_iterations=5"):
        sup.wait(own, timeout=10)
    assert (get(sup, from_worker).iteration, get(sup, from_worker).attempts) == (3, 1)  # no retry
    assert get(sup, own).iteration == 5


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "3"])
def test_a_bad_max_iterations_is_refused(sup: actors.Supervisor, value: object) -> None:
    with pytest.raises(actors.ValidationError, match="max_iterations"):
        sup.create_task("X", max_iterations=value)
    with pytest.raises(actors.ValidationError, match="max_iterations"):
        TaskWorker("X", walk, max_iterations=value)  # type: ignore[arg-type]
    assert sup.get_tasks() == []


@pytest.mark.parametrize("returned, field", [
    (actors.Continue(options={"x": object()}), "options"),
    (actors.Continue(options=[1]), "options"),
    (actors.Continue(delay=-1), "delay"),
])
def test_a_bad_continue_fails_the_attempt_naming_the_field(sup: actors.Supervisor, returned: actors.Continue,
                                                          field: str) -> None:
    sup.register_task_worker(TaskWorker("BAD", lambda ctx, options, task: returned))
    task_id = sup.create_task("BAD")
    with pytest.raises(actors.TaskFailed, match=f"ValidationError: actors.Continue: {field}"):
        sup.wait(task_id, timeout=10)
    assert get(sup, task_id).iteration == 1


def test_a_recurring_task_cannot_continue(sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("TICK", lambda ctx, options, task: actors.Continue()))
    task_id = sup.create_task("TICK", update_interval=10)
    clock.advance(10)
    sup.tick()
    sup.join(timeout=10)
    task = get(sup, task_id)
    assert (task.iteration, task.failure_count) == (1, 1)
    assert task.error is not None and "a recurring task cannot return actors.Continue" in task.error


def test_a_recurring_tasks_steps_last_one_run_and_survive_its_retry(sup: actors.Supervisor,
                                                                      clock: ManualClock) -> None:
    """Each run that ended well starts the next one with no steps; a failed run's retry replays them."""
    calls: list[int] = []

    def tick(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
        fetched = ctx.step("fetch", lambda: calls.append(1) or len(calls))
        if ctx.task.failure_count == 0 and len(calls) == 2:
            raise RuntimeError("after the step: this run is retried")
        return int(fetched)

    sup.register_task_worker(TaskWorker("TICK", tick))
    task_id = sup.create_task("TICK", update_interval=10)
    for _ in range(3):  # run 1 ends well; run 2 fails after its step; its retry replays the step
        clock.advance(10)
        sup.tick()
        sup.join(timeout=10)
    clock.advance(300)  # (the failed run backs off)
    sup.tick()
    sup.join(timeout=10)
    task = get(sup, task_id)
    assert len(calls) == 2  # run 2's retry did not fetch again
    assert task.result == 2 and task.steps == {}  # and its success cleared the steps for run 3


def test_logs_are_kept_per_iteration(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("WALK", walk))
    task_id = sup.create_task("WALK", metadata={"cursor": 0, "end": 2})
    sup.wait(task_id, timeout=10)
    assert [(r.iteration, r.message) for r in sup.logs(task_id)] == [
        (1, "iteration 1 at 0"), (2, "iteration 2 at 1"), (3, "iteration 3 at 2")]
    assert [r.message for r in sup.logs(task_id, iteration=2)] == ["iteration 2 at 1"]
    assert sup.logs(task_id, iteration=4) == []
    with pytest.raises(actors.ValidationError, match="iteration=0"):
        sup.logs(task_id, iteration=0)


# --- durable steps ---------------------------------------------------------------------


def test_a_step_is_not_run_again_when_the_task_retries(sup: actors.Supervisor, clock: ManualClock) -> None:
    calls: list[int] = []

    def expensive(n: int, *, times: int) -> dict[str, int]:
        calls.append(n)
        return {"value": n * times}

    def execute(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
        value = ctx.step("model", expensive, 7, times=6)
        if ctx.attempt == 1:
            raise ConnectionError("lost after the step")
        return value

    sup.register_task_worker(TaskWorker("STEP", execute, retry=Retry(max_attempts=2, min_delay=1, jitter=False)))
    task_id = sup.create_task("STEP")
    sup.join(timeout=10)
    assert get(sup, task_id).steps == {"model": {"value": 42}}
    clock.advance(1)
    sup.tick()
    assert sup.wait(task_id, timeout=10) == {"value": 42}
    assert calls == [7]


def test_steps_are_cleared_by_a_continue(sup: actors.Supervisor) -> None:
    calls: list[int] = []

    def execute(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
        got = ctx.step("page", lambda: calls.append(ctx.iteration) or ctx.iteration)
        if ctx.iteration < 3:
            return actors.Continue()
        return got

    sup.register_task_worker(TaskWorker("PAGES", execute))
    task_id = sup.create_task("PAGES")
    assert sup.wait(task_id, timeout=10) == 3
    assert calls == [1, 2, 3]
    assert get(sup, task_id).steps == {"page": 3}


def test_a_step_returns_what_json_gives_back_and_a_key_is_run_once(sup: actors.Supervisor) -> None:
    def execute(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
        first = ctx.step("pair", lambda: (1, 2))
        second = ctx.step("pair", lambda: "never called")
        return [first, second]

    sup.register_task_worker(TaskWorker("PAIR", execute))
    assert sup.wait(sup.create_task("PAIR"), timeout=10) == [[1, 2], [1, 2]]


@pytest.mark.parametrize("key, fn, match", [
    ("blob", lambda: object(), "blob=.*the result of step 'blob' is not JSON"),
    ("", lambda: 1, "a step key must be a non-empty string"),
])
def test_a_bad_step_fails_the_attempt_and_stores_nothing(sup: actors.Supervisor, key: str, fn: Any,
                                                        match: str) -> None:
    sup.register_task_worker(TaskWorker("BAD", lambda ctx, options, task: ctx.step(key, fn)))
    task_id = sup.create_task("BAD")
    with pytest.raises(actors.TaskFailed, match=match):
        sup.wait(task_id, timeout=10)
    assert get(sup, task_id).steps == {}


def test_the_node_refuses_a_step_of_a_stale_attempt(sup: actors.Supervisor) -> None:
    task_id = sup.create_task("IDLE")  # no worker: it stays PENDING, nobody holds it
    with pytest.raises(actors.ActorsError, match="no longer holds task") as info:
        sup._save_step(task_id, "stale-token", "k", 1)
    assert not isinstance(info.value, actors.ValidationError)
    assert get(sup, task_id).steps == {}


def test_a_childs_step_request_is_answered_once_stored_and_errors_come_back() -> None:
    from actors.execution.process.bookkeeping import answer_step
    from actors.execution.process.child import answered

    stored: list[tuple[str, str, str, Any]] = []
    replies: list[tuple[Any, ...]] = []

    def refuse(task_id: str, token: str, key: str, value: Any) -> None:
        raise actors.ActorsError("ctx.step('k'): this attempt no longer holds task 't1'")

    answer_step(lambda *args: stored.append(args), replies.append, 4, "t1", "tok", "k", [1])
    answer_step(refuse, replies.append, 5, "t1", "tok", "k", [1])
    answer_step(None, replies.append, 6, "t1", "tok", "k", [1])
    assert stored == [("t1", "tok", "k", [1])]
    assert [(kind, request) for kind, request, _ in replies] == [("created", 4), ("created", 5), ("created", 6)]
    assert answered(replies[0][2]) is None
    with pytest.raises(actors.ActorsError, match="no longer holds task 't1'"):
        answered(replies[1][2])
    with pytest.raises(actors.ActorsError, match="without a StepWriter"):
        answered(replies[2][2])
