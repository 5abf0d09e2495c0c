"""Queues and flow control on a node: the handle's methods, the limits in the node's claims,
routing. Memory store, tasks run inline, a manual clock (no sleeps)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import actors
from actors import ManualClock, QueueInfo, TaskStatus, TaskWorker
from actors.runtime.planner import ClaimPlanner
from actors.storage.memory import MemoryStore
from actors.testing import inline_supervisor

START = 1_700_000_000.0


def noop(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    return task.queue or "-"


def statuses(sup: actors.Supervisor, ids: list[str]) -> list[str]:
    return [str(sup.get_task(task_id).status) for task_id in ids]  # type: ignore[union-attr]


def test_set_queue_pause_resume_and_get_queues(sup: actors.Supervisor) -> None:
    info = sup.set_queue("emails", concurrency=5, key_concurrency=1, rate_limit="100/m")
    assert info == QueueInfo("emails", 5, 1, (100, 60.0), False, info.counts, 0)
    assert sup.set_queue("emails", concurrency=None).concurrency is None  # None removes; the rest stays
    assert sup.pause_queue("emails").paused and sup.get_queues()[0].key_concurrency == 1
    assert not sup.resume_queue("emails").paused
    assert [q.name for q in sup.get_queues()] == ["emails"]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"rate_limit": "x"}, "rate_limit"), ({"rate_limit": (0, 1)}, "rate_limit"), ({"concurrency": -1}, "concurrency"),
    ({"key_concurrency": 1.5}, "key_concurrency"), ({"paused": "yes"}, "paused"),
])
def test_bad_settings_raise_validation_error_naming_the_field(sup: actors.Supervisor, kwargs: dict[str, Any],
                                                              field: str) -> None:
    with pytest.raises(actors.ValidationError) as caught:
        sup.set_queue("q", **kwargs)
    assert caught.value.field == field
    assert sup.get_queues() == []
    with pytest.raises(actors.ValidationError, match="queue"):
        sup.set_queue("", concurrency=1)
    with pytest.raises(actors.ValidationError, match="concurrency_key"):
        sup.create_task("T", concurrency_key="")


def test_a_paused_queue_starts_nothing_and_resuming_starts_its_tasks_at_once(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("T", noop))
    sup.pause_queue("q")
    held = [sup.create_task("T", queue="q") for _ in range(2)]
    free = sup.create_task("T")
    assert sup.wait(free, timeout=10) == "-"
    sup.tick()
    assert statuses(sup, held) == ["pending", "pending"]
    sup.resume_queue("q")  # no tick, no time passing: the resume claims
    assert [sup.wait(task_id, timeout=10) for task_id in held] == ["q", "q"]


def test_a_concurrency_one_queue_runs_one_task_at_a_time_on_a_node(clock: ManualClock) -> None:
    gate = threading.Event()
    running: list[int] = []
    most = [0]

    def slow(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
        running.append(1)
        most[0] = max(most[0], len(running))
        gate.wait(10)
        running.pop()

    with actors.Supervisor.start("memory://", workers=1, executor="thread", thread_workers=3, clock=clock) as sup:
        sup.register_task_worker(TaskWorker("SLOW", slow, isolation="thread"))
        sup.set_queue("solo", concurrency=1)
        ids = [sup.create_task("SLOW", queue="solo") for _ in range(3)]
        actors.testing.eventually(lambda: statuses(sup, ids).count("running") == 1)
        sup.tick()
        assert statuses(sup, ids).count("running") == 1
        gate.set()
        for task_id in ids:
            sup.wait(task_id, timeout=10)
    assert most[0] == 1


def test_a_task_takes_its_workers_queue_and_a_node_claims_only_its_queues(clock: ManualClock) -> None:
    store = MemoryStore()
    with inline_supervisor(store, clock=clock, queues=["reports"]) as sup:
        sup.register_task_worker(TaskWorker("R", noop, queue="reports"))
        sup.register_task_worker(TaskWorker("T", noop))
        mine = sup.create_task("R")
        other = sup.create_task("T", queue="emails")
        plain = sup.create_task("T")
        assert sup.wait(mine, timeout=10) == "reports"
        sup.tick()
        assert statuses(sup, [other, plain]) == ["pending", "pending"]
        assert sup.get_task(plain).queue is None  # type: ignore[union-attr]  # counted under "default"
        assert {q.name: q.counts["pending"] for q in sup.get_queues()} == {"default": 1, "emails": 1, "reports": 0}


def test_a_rate_limited_queue_starts_n_per_period_as_time_passes(sup: actors.Supervisor,
                                                                 clock: ManualClock) -> None:
    sup.register_task_worker(TaskWorker("T", noop))
    sup.set_queue("r", rate_limit="2/s")
    ids = [sup.create_task("T", queue="r") for _ in range(5)]
    sup.tick()
    sup.join(timeout=5)  # the inline worker ran what the tick claimed
    assert statuses(sup, ids).count("succeeded") == 2
    clock.advance(0.5)
    sup.tick()
    sup.join(timeout=5)  # the inline worker ran what the tick claimed
    assert statuses(sup, ids).count("succeeded") == 2
    clock.advance(0.5)
    sup.tick()
    sup.join(timeout=5)  # the inline worker ran what the tick claimed
    assert statuses(sup, ids).count("succeeded") == 4


def test_queues_must_be_a_list_of_names() -> None:
    for bad in ("a,b", [], [""], 3):
        with pytest.raises(actors.ValidationError, match="queue"):
            actors.Supervisor.start("memory://", workers=0, clock=ManualClock(), queues=bad)


def test_the_planner_carries_the_nodes_queue_filter_in_every_claim() -> None:
    planner = ClaimPlanner(node_id="n", lease_ttl=30.0, slots={"process": 4}, queues=["b", "a"])
    planner.workers({"process": ["T"]})
    planner.attached()
    [planned] = planner.plan(now=START)
    assert planned.request.queues == ("a", "b")
    everything = ClaimPlanner(node_id="n", lease_ttl=30.0, slots={"process": 4})
    everything.workers({"process": ["T"]})
    everything.attached()
    assert everything.plan(now=START)[0].request.queues is None
    assert TaskStatus.RUNNING.value == "running"


def test_a_claim_a_queue_limit_held_back_does_not_stop_the_next_claims() -> None:
    planner = ClaimPlanner(node_id="n", lease_ttl=30.0, slots={"process": 4}, pool={"process": 1})
    planner.workers({"process": ["T"]})
    planner.attached()
    planner.took("process", 1, 4, held_back=True)  # short, but a limit kept due work out
    planner.dropped("process")  # the attempt ended: its slot is free
    assert [p.request.limit for p in planner.plan(now=START)] == [4]
    planner.took("process", 1, 4)  # short with nothing held back: nothing else due
    planner.dropped("process")
    assert planner.plan(now=START) == []
