"""actors.testing: drain, advance, the enqueued assertions, and the pytest plugin's fixture."""

from __future__ import annotations

from typing import Any

import pytest

import actors
from actors import ManualClock, Retry, TaskStatus, TaskWorker
from actors.testing import (
    Drained,
    advance,
    assert_enqueued,
    assert_not_enqueued,
    drain,
    inline_supervisor,
    store_for,
)


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["a"]) + int(options["b"])


def boom(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
    raise RuntimeError(f"boom {ctx.attempt}")


def test_drain_runs_what_is_due_and_chained_tasks_in_one_call(sup: actors.Supervisor) -> None:
    def first(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        return ctx.create_task("ADD", metadata={"a": 2, "b": 3})

    sup.register_task_worker(TaskWorker("FIRST", first))
    sup.register_task_worker(TaskWorker("ADD", add))
    parent = sup.create_task("FIRST")
    later = sup.create_task("ADD", metadata={"a": 1, "b": 1}, delay=60)
    drained = drain(sup)
    child = sup.get_task(parent).result  # type: ignore[union-attr]
    assert sup.get_task(child).result == 5  # type: ignore[union-attr]
    assert (drained.runs, drained.succeeded, drained.failed) == (2, 2, ())
    assert sup.get_task(later).status is TaskStatus.PENDING  # type: ignore[union-attr]  # time did not move


def test_drain_fail_fast_raises_the_task_error_text(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("BOOM", boom, retry=Retry(max_attempts=1)))
    task_id = sup.create_task("BOOM")
    with pytest.raises(actors.TaskFailed, match="boom 1") as info:
        drain(sup)
    assert (info.value.task_id, info.value.error, info.value.attempts) == (task_id, "RuntimeError: boom 1", 1)


def test_a_failure_before_the_drain_is_still_raised_and_only_once(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("BOOM", boom, retry=Retry(max_attempts=1)))
    task_id = sup.create_task("BOOM")  # an inline node starts it at once, before any drain
    sup.join(timeout=10)
    assert sup.get_task(task_id).status is TaskStatus.FAILED  # type: ignore[union-attr]
    with pytest.raises(actors.TaskFailed) as info:
        drain(sup)
    assert info.value.task_id == task_id
    assert drain(sup) == Drained(rounds=1)  # reported: the next drain is quiet


def test_failures_of_one_round_are_raised_one_drain_each(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("BOOM", boom, retry=Retry(max_attempts=1)))
    first, second = sup.create_task("BOOM"), sup.create_task("BOOM")
    sup.join(timeout=10)
    raised = []
    for _ in range(2):
        with pytest.raises(actors.TaskFailed) as info:
            drain(sup)
        raised.append(info.value.task_id)
    assert raised == [first, second]
    assert drain(sup).failed == ()


def test_a_task_retried_by_hand_that_fails_again_is_raised_again(sup: actors.Supervisor,
                                                                 clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("BOOM", boom, retry=Retry(max_attempts=1)))
    task_id = sup.create_task("BOOM")
    with pytest.raises(actors.TaskFailed):
        drain(sup)
    clock.advance(1)
    sup.retry_task(task_id)
    with pytest.raises(actors.TaskFailed) as info:
        drain(sup)
    assert info.value.task_id == task_id


def test_drain_without_fail_fast_reports_failures(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("BOOM", boom, retry=Retry(max_attempts=1)))
    sup.register_task_worker(TaskWorker("ADD", add))
    failing = sup.create_task("BOOM")
    sup.create_task("ADD", metadata={"a": 1, "b": 2})
    drained = drain(sup, fail_fast=False)
    assert [task.id for task in drained.failed] == [failing]
    assert drained.succeeded == 1


def test_a_retry_waiting_for_its_back_off_is_not_a_failure_until_with_scheduled_runs_it(
        sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("BOOM", boom, retry=Retry(max_attempts=3, min_delay=10, jitter=False)))
    task_id = sup.create_task("BOOM")
    assert drain(sup).runs == 1
    assert_enqueued(sup, name="BOOM", attempts=1)
    start = clock.now()
    with pytest.raises(actors.TaskFailed, match="boom 3"):
        drain(sup, with_scheduled=True)
    assert clock.now() == start + 10 + 20  # jumped to each retry
    assert sup.get_task(task_id).status is TaskStatus.FAILED  # type: ignore[union-attr]


def test_a_failing_recurring_run_is_a_failure(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("BEAT", boom))
    sup.create_task("BEAT", update_interval=30)
    assert drain(sup).runs == 0  # first run one interval in
    with pytest.raises(actors.TaskFailed, match="boom"):
        advance(sup, 30)


def test_advance_moves_the_clock_and_runs_each_recurring_run(sup: actors.Supervisor, clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("BEAT", lambda ctx, options, task: task.attempts))
    task_id = sup.create_task("BEAT", update_interval=30)
    runs = [advance(sup, 30).runs for _ in range(3)]
    assert runs == [1, 1, 1]
    assert sup.get_task(task_id).attempts == 3  # type: ignore[union-attr]
    assert advance(clock, 5) == clock.now()


@pytest.mark.parametrize("seconds", [-1, "soon", True, float("nan")])
def test_advance_refuses_bad_seconds(sup: actors.Supervisor, seconds: Any) -> None:
    with pytest.raises(actors.ValidationError, match="seconds"):
        advance(sup, seconds)


def test_drain_needs_a_manual_clock() -> None:
    with actors.Supervisor.start("memory://", workers=0) as node, pytest.raises(actors.ValidationError,
                                                                                   match="clock"):
        drain(node)


def test_assert_enqueued_matches_metadata_subsets_and_task_fields(sup: actors.Supervisor) -> None:
    task_id = sup.create_task("SEND", metadata={"to": "ada", "lang": "en"}, tags=["mail"], priority="high",
                              delay=60)
    assert assert_enqueued(sup, name="SEND", metadata={"to": "ada"}, tags=["mail"], priority="high").id == task_id
    assert_enqueued(sup, name="SEND", count=1)
    with pytest.raises(AssertionError, match=r"at least one PENDING .* found 0; PENDING now: \[.SEND\("):
        assert_enqueued(sup, name="SEND", metadata={"to": "bob"})
    with pytest.raises(AssertionError, match="found 1"):
        assert_enqueued(sup, name="SEND", count=2)
    assert_not_enqueued(sup, name="SEND", priority="low")
    with pytest.raises(AssertionError, match="expected no PENDING task matching name='SEND'"):
        assert_not_enqueued(sup, name="SEND")
    with pytest.raises(actors.ValidationError, match="colour"):
        assert_enqueued(sup, colour="red")


def test_a_task_that_ran_is_no_longer_enqueued(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("ADD", add))
    sup.create_task("ADD", metadata={"a": 1, "b": 1})
    drain(sup)
    assert_not_enqueued(sup, name="ADD")


def test_store_for_names_the_kinds(tmp_path: Any) -> None:
    assert store_for("memory", tmp_path) == "memory://"
    assert store_for("sqlite", tmp_path) == str(tmp_path / "tasks.db")
    with pytest.raises(actors.ValidationError, match="store"):
        store_for("redis", tmp_path)


def test_the_plugin_fixture_is_an_inline_node_on_the_memory_store(supervisor: actors.Supervisor,
                                                                   actors_clock: ManualClock) -> None:
    assert supervisor.clock is actors_clock
    assert supervisor.store.__class__.__name__ == "MemoryStore"
    supervisor.register_task_worker(TaskWorker("ADD", add))
    task_id = supervisor.create_task("ADD", metadata={"a": 1, "b": 2})
    assert isinstance(drain(supervisor), Drained)
    assert supervisor.get_task(task_id).result == 3  # type: ignore[union-attr]


@pytest.mark.actors(store="sqlite", lease_ttl=12.0)
def test_the_marker_picks_a_temporary_sqlite_file(supervisor: actors.Supervisor) -> None:
    assert supervisor.store.__class__.__name__ == "SQLiteStore"
    task_id = supervisor.create_task("LATER", delay=5)
    assert supervisor.get_task(task_id) is not None


@pytest.mark.parametrize("supervisor", ["memory", "sqlite"], indirect=True)
def test_the_fixture_parametrizes_over_stores(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(TaskWorker("ADD", add))
    task_id = supervisor.create_task("ADD", metadata={"a": 2, "b": 2})
    drain(supervisor)
    assert supervisor.get_task(task_id).result == 4  # type: ignore[union-attr]


def test_inline_supervisor_starts_on_its_own_clock() -> None:
    with inline_supervisor() as node:
        assert isinstance(node.clock, ManualClock)
