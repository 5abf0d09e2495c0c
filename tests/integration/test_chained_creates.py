"""``ctx.create_task`` on a real node (SQLite file), from a task in process and in thread isolation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import actors
from actors import TaskWorker

from . import runtime_tasks as tasks

pytestmark = pytest.mark.timeout(120)

ISOLATIONS = ["process", "thread"]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "tasks.db")


@pytest.fixture
def sup(db: str) -> Iterator[actors.Supervisor]:
    node = actors.Supervisor.start(db, workers=1, thread_workers=1, lease_ttl=5.0)
    node.register_task_worker(TaskWorker("CHILD", tasks.add_from, priority="high"))
    node.register_task_worker(TaskWorker("STRICT", tasks.add, validate=tasks.needs_recipient))
    yield node
    node.stop(timeout=5)


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_the_chained_task_is_stored_when_create_task_returns(sup: actors.Supervisor, db: str,
                                                             isolation: str) -> None:
    sup.register_task_worker(TaskWorker("PARENT", tasks.chain_and_look, isolation=isolation))
    parent_id = sup.create_task("PARENT", metadata={"db": db})
    seen = sup.wait(parent_id, timeout=30)
    assert seen["stored"] is True  # looked up by the parent right after create_task returned
    assert (seen["pid"] == os.getpid()) is (isolation == "thread")
    assert sup.wait(seen["child"], timeout=30) == parent_id
    child = sup.get_task(seen["child"])
    assert child is not None and child.priority == "high"  # the CHILD worker's default


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_refused_chained_task_raises_validation_error_in_the_parent(sup: actors.Supervisor,
                                                                      isolation: str) -> None:
    sup.register_task_worker(TaskWorker("PARENT", tasks.chain_refused, isolation=isolation))
    sup.register_task_worker(TaskWorker("UNCAUGHT", tasks.chain_refused_uncaught, isolation=isolation))
    refused = sup.wait(sup.create_task("PARENT"), timeout=30)
    assert (refused["type"], refused["field"]) == ("ValidationError", "metadata")
    assert "rejected by STRICT.validate" in refused["message"]
    with pytest.raises(actors.TaskFailed, match=r"ValidationError: .*rejected by STRICT\.validate"):
        sup.wait(sup.create_task("UNCAUGHT"), timeout=30)
    assert sup.get_tasks(name="STRICT") == []
