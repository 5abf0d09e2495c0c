"""Contract breaks of issue 11 on the handle and the actor (memory store, inline, ManualClock)."""

from __future__ import annotations

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
