"""Tasks that trigger and wait on other tasks, on a real node: pool children (process isolation)
and thread isolation, one worker, an SQLite file and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import actors
from actors import TaskWorker
from actors.testing import eventually
from tests.helpers import postgres_dsn_or_skip

from . import trigger_tasks as tasks
from .test_postgres_nodes import Database

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The node's store: an SQLite file, or a schema of its own in the test PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "tasks.db")
        return
    database = Database(postgres_dsn_or_skip())
    yield database.url
    database.drop()


@pytest.fixture
def sup(store: str) -> Iterator[actors.Supervisor]:
    node = actors.Supervisor.start(store, workers=1, thread_workers=1, lease_ttl=5.0)
    node.register_task_worker(TaskWorker("DOUBLE", tasks.double))
    node.register_task_worker(TaskWorker("BROKEN", tasks.broken))
    yield node
    node.stop(timeout=5)


@pytest.mark.parametrize("isolation", ["process", "thread"])
def test_one_worker_runs_a_parent_that_waits_on_three_children(sup: actors.Supervisor, isolation: str) -> None:
    sup.register_task_worker(TaskWorker("PARENT", tasks.fan_out, isolation=isolation))
    parent_id = sup.create_task("PARENT")
    assert sup.wait(parent_id, timeout=60)["results"] == [2, 4, 6]
    children = sup.get_tasks(parent_id=parent_id)
    assert [c.metadata["n"] for c in children] == [1, 2, 3]
    assert {c.status for c in children} == {actors.TaskStatus.SUCCEEDED}
    assert {c.parent_id for c in children} == {parent_id}
    assert sup.get_task(parent_id).attempts == 1  # type: ignore[union-attr]


def test_batch_trigger_and_wait_on_one_worker_reports_a_failed_child(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("PARENT", tasks.fan_out_batch))
    parent_id = sup.create_task("PARENT")
    first, second, third = sup.wait(parent_id, timeout=60)
    assert first == [True, 20, None] and third == [True, 40, None]
    assert second[:2] == [False, None] and "RuntimeError: child broke" in second[2]
    assert len(sup.get_tasks(parent_id=parent_id)) == 3


def test_a_failed_child_is_task_failed_in_the_parent(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("PARENT", tasks.catch_failed_child))
    assert sup.wait(sup.create_task("PARENT"), timeout=60) == "TaskFailed: RuntimeError: child broke"


def test_a_parent_killed_after_triggering_gets_the_same_children(sup: actors.Supervisor, tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    sup.register_task_worker(TaskWorker("PARENT", tasks.trigger_then_die))
    parent_id = sup.create_task("PARENT", metadata={"log": str(log)})
    made = sup.wait(parent_id, timeout=60)
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [run["attempt"] for run in runs][:2] == [1, 2]  # died once (os._exit), then ran again
    assert all(run["children"] == made for run in runs)
    assert sorted(t.id for t in sup.get_tasks(parent_id=parent_id)) == sorted(made)  # none duplicated
    assert [sup.wait(child, timeout=30) for child in made] == [2, 4, 6]


def test_a_waiting_parent_holds_no_slot_of_a_concurrency_one_queue(sup: actors.Supervisor) -> None:
    sup.set_queue("solo", concurrency=1)
    sup.register_task_worker(TaskWorker("PARENT", tasks.fan_out_batch, queue="solo"))
    parent_id = sup.create_task("PARENT", metadata={"queue": "solo"})
    assert [run[0] for run in sup.wait(parent_id, timeout=60)] == [True, False, True]
    assert sup.get_tasks(parent_id=parent_id, queue="solo")[0].metadata == {"n": 20}


def test_stop_while_a_parent_waits_is_prompt_and_gives_the_task_back(store: str) -> None:
    db = store
    node = actors.Supervisor.start(db, workers=1, lease_ttl=5.0)
    node.register_task_worker(TaskWorker("PARENT", tasks.wait_on))
    other = node.create_task("NOBODY")  # no worker runs it: the parent waits on
    parent_id = node.create_task("PARENT", metadata={"other": other})
    eventually(lambda: (t := node.get_task(parent_id)) is not None and t.attempts == 0
                              and t.status is actors.TaskStatus.PENDING and t.updated_at != t.created_at)
    started = time.monotonic()
    node.stop(timeout=5)
    assert time.monotonic() - started < 5
    with actors.Supervisor.start(db, workers=1, lease_ttl=5.0) as again:  # the next node takes it over
        waiting = again.get_task(parent_id)
        assert waiting is not None and waiting.status is actors.TaskStatus.PENDING and waiting.attempts == 0
        again.update_task(other, metadata={"n": 21})
        again.register_task_worker(TaskWorker("NOBODY", tasks.double))
        again.register_task_worker(TaskWorker("PARENT", tasks.wait_on))  # wakes at its recheck time
        assert again.wait(parent_id, timeout=60) == 42


def test_a_wait_that_times_out_raises_actors_timeout(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("PARENT", tasks.wait_on))
    other = sup.create_task("NOBODY")
    parent_id = sup.create_task("PARENT", metadata={"other": other, "timeout": 0.5})
    assert sup.wait(parent_id, timeout=60).startswith("Timeout: ctx.wait: 1 task(s) not finished within 0.5s")
