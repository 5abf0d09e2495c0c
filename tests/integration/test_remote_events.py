"""Events of tasks recorded on another node sharing the store reach a subscriber within a
second (the follower reading ``changes_since``): two nodes on one SQLite file, and on PostgreSQL.

Node A serves (thread executor); node B is client-only (``workers=0``) and subscribes. The
waits are bounded and wake on delivery.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import actors
from tests.helpers import EventLog, eventually, postgres_dsn_or_skip


def report(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    ctx.progress(50)
    return "reported"


def broken(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
    raise RuntimeError("no luck")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "shared.db")
        return
    from tests.integration.test_postgres_nodes import Database

    database = Database(postgres_dsn_or_skip())
    try:
        yield database.url
    finally:
        database.drop()


@pytest.fixture
def nodes(store_url: str) -> Iterator[tuple[actors.Supervisor, actors.Supervisor]]:
    a = actors.Supervisor.start(store_url, workers=1, executor="thread", node_id="node-a")
    b = actors.Supervisor.start(store_url, workers=0, node_id="node-b")
    try:
        yield a, b
    finally:
        b.stop()
        a.stop()


def test_a_task_run_on_node_a_is_seen_on_node_b_within_a_second(
        nodes: tuple[actors.Supervisor, actors.Supervisor]) -> None:
    a, b = nodes
    seen_on_b, seen_on_a = EventLog(), EventLog()
    b.subscribe(seen_on_b)
    a.subscribe(seen_on_a)
    a.register_task_worker(actors.TaskWorker("REPORT", report, isolation="thread"))
    eventually(lambda: a.stats()["events"]["following"] and b.stats()["events"]["following"], timeout=5)
    task_id = a.create_task("REPORT", queue="reports")
    assert a.wait(task_id, timeout=10) == "reported"
    kinds = seen_on_b.wait_kinds(task_id, "created", "started", "succeeded", timeout=1.0)
    assert kinds[0] == "created" and kinds.index("started") < kinds.index("succeeded")
    succeeded = next(e for e in seen_on_b.events if e.kind == "succeeded")
    assert (succeeded.name, succeeded.queue, succeeded.data["result"]) == ("REPORT", "reports", "reported")
    assert succeeded.data["source"] == "store"
    # node A sees its own task once per change, though its follower reads it back from the store too
    kinds_on_a = seen_on_a.wait_kinds(task_id, "succeeded")
    assert sorted(kinds_on_a) == sorted(set(kinds_on_a)) and {"created", "started", "succeeded"} <= set(kinds_on_a)
    assert b.stats()["events"]["delivered"] >= 3


def test_retries_and_failure_on_node_a_reach_node_b(nodes: tuple[actors.Supervisor, actors.Supervisor]) -> None:
    a, b = nodes
    seen = EventLog()
    b.subscribe(seen, events=["started", "retrying", "failed"])
    a.register_task_worker(actors.TaskWorker("BROKEN", broken, isolation="thread",
                                             retry=actors.Retry(max_attempts=2, min_delay=0.05, jitter=False)))
    eventually(lambda: b.stats()["events"]["following"], timeout=5)
    task_id = a.create_task("BROKEN")
    with pytest.raises(actors.TaskFailed):
        a.wait(task_id, timeout=10)
    kinds = seen.wait_kinds(task_id, "failed", timeout=1.0)
    assert kinds == ["started", "retrying", "started", "failed"]
    assert next(e for e in seen.events if e.kind == "failed").data["error"].endswith("no luck")
