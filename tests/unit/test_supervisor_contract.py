"""Contract breaks of issue 11 on the handle and the actor (memory store, inline, ManualClock)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import actors
from actors import ManualClock, TaskStatus, TaskWorker
from actors.testing import inline_supervisor

START = 1_700_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sup(clock: ManualClock) -> Iterator[actors.Supervisor]:
    node = inline_supervisor(clock=clock, lease_ttl=30.0)
    yield node
    node.stop()


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options.get("a", 0)) + int(options.get("b", 0))


# --- resume_task -----------------------------------------------------------------------------


def test_resume_of_a_task_that_is_not_paused_names_its_status(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("ADD", add))
    pending = sup.create_task("ADD", delay=60)
    with pytest.raises(actors.ValidationError) as info:
        sup.resume_task(pending)
    assert (info.value.field, info.value.value) == ("status", "pending")
    done = sup.create_task("ADD", metadata={"a": 1})
    assert sup.wait(done, timeout=10) == 1
    with pytest.raises(actors.ValidationError, match="status='succeeded'"):
        sup.resume_task(done)
    with pytest.raises(actors.TaskNotFound):
        sup.resume_task("ghost")
    sup.pause_task(pending)
    assert sup.resume_task(pending).status is TaskStatus.PENDING


# --- stats ------------------------------------------------------------------------------------


def test_stats_count_per_queue_and_workers_busy_and_idle(sup: actors.Supervisor) -> None:
    started, release = threading.Event(), threading.Event()

    def block(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
        started.set()
        assert release.wait(10)

    sup.register_task_worker(TaskWorker("BLOCK", block, queue="slow"))
    sup.register_task_worker(TaskWorker("ADD", add))
    sup.create_task("ADD", delay=60)
    sup.create_task("ADD", delay=60, queue="emails")
    blocked = sup.create_task("BLOCK")
    assert started.wait(10)
    stats = sup.stats()
    zero = {status.value: 0 for status in TaskStatus}
    assert stats["queues"] == {"default": {**zero, "pending": 1}, "emails": {**zero, "pending": 1},
                               "slow": {**zero, "running": 1}}
    slots = stats["workers"]["slots"]
    assert (stats["workers"]["busy"], stats["workers"]["idle"]) == (1, slots - 1)
    assert stats["workers"]["registered"] == ["ADD", "BLOCK"]  # today's keys stay
    release.set()
    sup.wait(blocked, timeout=10)
    sup.join(timeout=10)
    stats = sup.stats()
    assert (stats["workers"]["busy"], stats["workers"]["idle"]) == (0, slots)
    assert stats["queues"]["slow"] == {**zero, "succeeded": 1}
