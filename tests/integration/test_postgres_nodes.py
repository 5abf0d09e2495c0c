"""Several nodes on one PostgreSQL database: LISTEN/NOTIFY, kill -9 of a node, schedules.

Real processes: nodes are ``actors worker`` commands (each with its own worker
child), killed with SIGKILL on their whole process group as a machine dies. Every
task writes its own record (``pg_node_workers.record``). Needs PostgreSQL
(``ACTORS_TEST_POSTGRES_DSN``); each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

import actors
from actors.storage.postgres import PostgresStore
from tests.helpers import eventually, postgres_dsn_or_skip, stop_processes

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


class Database:
    """A fresh schema on the test server, as a store URL and for raw checks."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.schema = f"actors_nodes_{uuid.uuid4().hex[:10]}"
        info = conninfo_to_dict(dsn)
        host, port = info.get("host", "127.0.0.1"), info.get("port", "5432")
        user, dbname = info.get("user", "postgres"), info.get("dbname", "postgres")
        self.url = f"postgresql://{user}@{host}:{port}/{dbname}?schema={self.schema}"

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            return list(conn.execute(query, params).fetchall())

    def drop(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))


@pytest.fixture
def db() -> Iterator[Database]:
    database = Database(postgres_dsn_or_skip())
    with actors.Supervisor.start(database.url, workers=0):
        pass  # the schema exists before several processes race to create it
    yield database
    database.drop()


class Nodes:
    """``actors worker`` node processes, each the leader of its own process group."""

    def __init__(self, db: Database, tmp: Path, lease_ttl: float) -> None:
        self.db, self.tmp, self.ttl = db, tmp, lease_ttl
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        for _ in range(count):
            out = open(self.tmp / f"node-{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed with the process
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "actors.cli", "worker", "tests.integration.pg_node_workers",
                 "--store", self.db.url, "--workers", "1", "--lease-ttl", str(self.ttl)],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)}))
        eventually(lambda: len(self.node_pids()) == len(self.procs), timeout=60)

    def node_pids(self) -> dict[str, int]:
        """node id -> pid of every node alive in the node table."""
        return {node: int(info["pid"]) for node, info in
                ((row[0], json.loads(row[1])) for row in self.db.rows(
                    "SELECT node_id, info FROM nodes WHERE expires_at > extract(epoch FROM now())"))}

    def kill(self, node_id: str) -> None:
        pid = self.node_pids()[node_id]
        os.killpg(pid, signal.SIGKILL)
        next(p for p in self.procs if p.pid == pid).wait(timeout=10)

    def stop(self) -> None:
        stop_processes(self.procs, timeout=30)

    def logs(self) -> str:
        return "\n".join((self.tmp / f"node-{i}.log").read_text(errors="replace") for i in range(len(self.procs)))


@pytest.fixture
def nodes(db: Database, tmp_path: Path) -> Iterator[Nodes]:
    started = Nodes(db, tmp_path, lease_ttl=5.0)
    yield started
    started.stop()


def records(path: Path) -> list[tuple[str, int, float]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        task_id, pid, run_at = line.split()
        out.append((task_id, int(pid), float(run_at)))
    return out


# --- wake-ups ------------------------------------------------------------------------------


def echo(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    return task.id


def listener(node: actors.Supervisor) -> dict[str, Any]:
    health: dict[str, Any] = node.stats()["health"]["listener"]
    return health


def test_a_notification_wakes_a_node_that_does_not_poll(db: Database) -> None:
    """poll_interval and maintenance far away: only NOTIFY can make the node claim in time."""
    with actors.Supervisor.start(db.url, workers=1, executor="thread", poll_interval=600,
                                 lease_ttl=600) as node, \
            actors.Supervisor.start(db.url, workers=0) as client:
        node.register_task_worker(actors.TaskWorker("ECHO", echo))
        eventually(lambda: listener(node)["connected"])
        started = time.monotonic()
        task_id = client.create_task("ECHO")
        assert client.wait(task_id, timeout=10) == task_id
        assert time.monotonic() - started < 10
        assert listener(node)["notifications"] >= 1


def test_a_killed_listener_falls_back_to_polling_then_listens_again(db: Database) -> None:
    store = PostgresStore(postgres_dsn_or_skip(), schema=db.schema, listen_retry=8.0)
    with actors.Supervisor.start(store, workers=1, executor="thread", poll_interval=0.2,
                                 lease_ttl=600) as node, \
            actors.Supervisor.start(db.url, workers=0) as client:
        node.register_task_worker(actors.TaskWorker("ECHO", echo))
        pid = eventually(lambda: listener(node)["connected"] and listener(node)["backend_pid"])
        assert db.rows("SELECT pg_terminate_backend(%s)", pid) == [(True,)]
        eventually(lambda: not listener(node)["connected"], timeout=10)

        # the listener waits 8 s before reconnecting: this task runs because the node polls
        task_id = client.create_task("ECHO")
        assert client.wait(task_id, timeout=5) == task_id
        assert listener(node)["reconnects"] == 0 and not listener(node)["connected"]

        eventually(lambda: listener(node)["connected"] and listener(node)["reconnects"] == 1, timeout=30)
        assert listener(node)["backend_pid"] != pid
        heard = listener(node)["notifications"]
        second = client.create_task("ECHO")
        assert client.wait(second, timeout=10) == second
        eventually(lambda: listener(node)["notifications"] > heard, timeout=10)


# --- three nodes ---------------------------------------------------------------------------------


def test_three_nodes_one_killed_mid_run_every_task_completes_and_is_recorded_once(
        db: Database, nodes: Nodes, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    nodes.start(3)
    total = 5000
    with actors.Supervisor.start(db.url, workers=0) as client:
        for start in range(0, total, 1000):
            client.create_tasks([{"name": "RECORD", "metadata": {"log": str(log), "sleep": 0.002, "i": i}}
                                 for i in range(start, start + 1000)])
        eventually(lambda: len(records(log)) >= 1000, timeout=120)
        running = Counter(owner for (owner,) in db.rows("SELECT owner FROM tasks WHERE status = 'running'"))
        victim = running.most_common(1)[0][0]
        nodes.kill(victim)
        killed_at = time.monotonic()
        held = {task_id for (task_id,) in db.rows(
            "SELECT id FROM tasks WHERE status = 'running' AND owner = %s", victim)}
        assert held, "the killed node held no task: the test did not kill mid-run"

        eventually(lambda: not db.rows("SELECT 1 FROM tasks WHERE status = 'running' AND owner = %s", victim),
                   timeout=60, interval=0.05)
        reclaimed_after = time.monotonic() - killed_at
        eventually(lambda: client.stats()["tasks"]["succeeded"] == total, timeout=180, interval=0.2)
        stats = client.stats()

    assert stats["tasks"] == {**{s.value: 0 for s in actors.TaskStatus}, "succeeded": total}, nodes.logs()
    assert reclaimed_after <= nodes.ttl + 2.0  # within the lease (+ a tick), not "eventually"
    runs = Counter(task_id for task_id, _, _ in records(log))
    every = {task_id for (task_id,) in db.rows("SELECT id FROM tasks")}
    assert set(runs) == every  # every task ran, by its own record
    twice = {task_id for task_id, n in runs.items() if n > 1}
    assert twice <= held  # only what the dead node held may have run again (at-least-once)
    crashed = {task_id for (task_id,) in db.rows("SELECT id FROM tasks WHERE crash_count > 0")}
    assert crashed == held  # each reclaimed once, counted as a crash
    assert db.rows("SELECT count(*) FROM tasks WHERE attempts < 1") == [(0,)]


def test_schedules_and_recurring_tasks_fire_once_per_period_across_three_nodes_and_a_dead_leader(
        db: Database, nodes: Nodes, tmp_path: Path) -> None:
    ticks, beats = tmp_path / "ticks.log", tmp_path / "beats.log"
    nodes.ttl = 3.0
    nodes.start(3)
    with actors.Supervisor.start(db.url, workers=0) as client:
        client.schedule("TICK", cron="* * * * * *", metadata={"log": str(ticks)})
        beat = client.create_task("BEAT", update_interval=1.0, metadata={"log": str(beats)})
        eventually(lambda: len(records(ticks)) >= 3 and len(records(beats)) >= 3, timeout=60)

        (leader,) = db.rows("SELECT holder FROM leases WHERE name = 'leader'")[0]
        nodes.kill(leader)
        killed_at = time.time()
        eventually(lambda: sum(run_at > killed_at for _, _, run_at in records(ticks)) >= 5, timeout=60)
        eventually(lambda: sum(run_at > killed_at for _, _, run_at in records(beats)) >= 3, timeout=60)
        assert client.delete_schedule("TICK")
        client.delete_task(beat)
        new_leader = db.rows("SELECT holder FROM leases WHERE name = 'leader'")
        fired = sorted(float(t.run_at.timestamp()) for t in client.get_tasks(name="TICK") if t.run_at)

    assert new_leader and new_leader[0][0] != leader
    # one task per fire time, and no second missing: the dead leader's periods fired late, once each
    assert len(fired) == len(set(fired))
    assert fired == [fired[0] + k for k in range(len(fired))], fired
    assert max(fired) > killed_at + 4
    # the recurring task: one row, so one run at a time; its runs never bunch up
    starts = sorted({run_at for _, _, run_at in records(beats)})
    assert all(later - earlier >= 0.9 for earlier, later in itertools.pairwise(starts)), starts


def test_the_demo_runs_on_postgresql(db: Database) -> None:
    done = subprocess.run([sys.executable, "-m", "actors.cli", "demo", "--store", db.url],
                          cwd=ROOT, capture_output=True, text=True, timeout=180, check=True)
    assert "'succeeded': 8, 'failed': 1" in done.stdout
    assert "HEARTBEAT ran 3 times" in done.stdout
