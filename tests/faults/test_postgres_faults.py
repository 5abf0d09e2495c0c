"""PostgreSQL under real faults (database of ACTORS_TEST_POSTGRES_DSN): every connection of
the store terminated several times mid-run, and the server restarted mid-run. The node
finishes every task exactly once and keeps serving."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import actors
from tests.helpers import eventually, postgres_dsn_or_skip

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres

def _cluster_version() -> str:
    """The installed PostgreSQL cluster's major version (Debian's /etc/postgresql/<version>/main)."""
    versions = sorted(path.name for path in Path("/etc/postgresql").glob("*/main") for path in [path.parent])
    return versions[-1] if versions else "15"


CLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect", _cluster_version(), "main"]


class Runs:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: Counter[str] = Counter()

    def __call__(self, ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        time.sleep(0.01)
        with self.lock:
            self.ids[task.id] += 1
        return task.id


@pytest.fixture
def dsn() -> str:
    return postgres_dsn_or_skip()


@pytest.fixture
def node(dsn: str) -> Iterator[tuple[actors.Supervisor, Runs]]:
    from actors.storage.postgres import PostgresStore

    schema = f"actors_fault_{uuid.uuid4().hex[:10]}"
    runs = Runs()
    sup = actors.Supervisor.start(PostgresStore(dsn, schema=schema), workers=2, executor="thread",
                                  thread_workers=2, poll_interval=0.05, lease_ttl=10.0)
    sup.register_task_worker(actors.TaskWorker("REC", runs, isolation="thread"))
    try:
        yield sup, runs
    finally:
        sup.stop()
        _server_up(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(schema)))


def _server_up(dsn: str) -> None:
    """Start the server if a restart left it down; wait until it answers."""
    def answers() -> bool:
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False

    if not answers():
        subprocess.run([*CLUSTER, "start"], capture_output=True)
    eventually(answers, timeout=60, interval=0.2)


def _terminate_all(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as admin:
        rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    return len(rows)


def _create(sup: actors.Supervisor, count: int) -> list[str]:
    """Create ``count`` tasks, riding out the fault: a refused create is tried again."""
    ids: list[str] = []
    while len(ids) < count:
        try:
            ids.append(sup.create_task("REC", metadata={"n": len(ids)}))
        except actors.StoreError:
            time.sleep(0.05)
    return ids


def _all_done_once(sup: actors.Supervisor, runs: Runs, ids: list[str], timeout: float) -> None:
    for task_id in ids:
        deadline = time.monotonic() + timeout
        while True:
            try:
                assert sup.wait(task_id, timeout=timeout) == task_id
                break
            except actors.StoreError:  # the store is still coming back
                assert time.monotonic() < deadline
                time.sleep(0.1)
    twice = {task_id: count for task_id, count in runs.ids.items() if count != 1}
    assert not twice, f"tasks run more than once: {twice}"
    assert set(ids) <= set(runs.ids)


def test_every_connection_terminated_several_times_mid_run(dsn: str,
                                                           node: tuple[actors.Supervisor, Runs]) -> None:
    sup, runs = node
    ids = _create(sup, 40)
    for _ in range(3):
        eventually(lambda: sum(runs.ids.values()) >= 1, timeout=20)
        assert _terminate_all(dsn) >= 1
        ids += _create(sup, 20)
        time.sleep(0.2)
    _all_done_once(sup, runs, ids, timeout=60)
    after = sup.create_task("REC")
    assert sup.wait(after, timeout=20) == after  # and keeps serving
    eventually(lambda: all(op["ok"] for op in sup.stats()["health"]["ops"].values()), timeout=20)


@pytest.mark.slow
def test_the_server_restarted_mid_run(dsn: str, node: tuple[actors.Supervisor, Runs]) -> None:
    sup, runs = node
    ids = _create(sup, 60)
    eventually(lambda: sum(runs.ids.values()) >= 5, timeout=20)
    try:
        subprocess.run([*CLUSTER, "restart"], check=True, capture_output=True, timeout=120)
    finally:
        _server_up(dsn)
    ids += _create(sup, 20)
    _all_done_once(sup, runs, ids, timeout=90)
    after = sup.create_task("REC")
    assert sup.wait(after, timeout=30) == after
