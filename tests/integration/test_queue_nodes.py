"""Queues across real node processes sharing one store (an SQLite file, a PostgreSQL schema).

Nodes are ``actors worker`` commands (each with one worker child); the tasks record their own
start and end times (``queue_workers.SPAN``), the record the tests check.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import actors
from tests.helpers import eventually, stop_processes

ROOT = Path(__file__).resolve().parents[2]


class Nodes:
    def __init__(self, url: str, tmp: Path) -> None:
        self.url, self.tmp = url, tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, queues: str | None = None, workers: int = 1) -> None:
        out = open(self.tmp / f"node-{name}.log", "wb")  # noqa: SIM115 - closed with the process
        extra = [] if queues is None else ["--queues", queues]
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "actors.cli", "worker", "tests.integration.queue_workers", "--store", self.url,
             "--workers", str(workers), *extra], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "QUEUE_TEST_NODE": name}))

    def stop(self) -> None:
        stop_processes(self.procs, timeout=20)


@pytest.fixture
def nodes(store_url: str, tmp_path: Path) -> Iterator[Nodes]:
    with actors.Supervisor.start(store_url, workers=0):
        pass  # the tables exist before the nodes race to create them
    started = Nodes(store_url, tmp_path)
    yield started
    started.stop()


def spans(path: Path) -> list[tuple[str, str, str, float, float]]:
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        task_id, queue, node, start, end = line.split()
        out.append((task_id, queue, node, float(start), float(end)))
    return out


def test_a_concurrency_one_queue_never_overlaps_across_two_nodes(nodes: Nodes, tmp_path: Path) -> None:
    log = tmp_path / "spans.txt"
    with actors.Supervisor.start(nodes.url, workers=0) as client:
        client.set_queue("solo", concurrency=1)
        nodes.start("a", workers=2)  # each node alone would run two at once
        nodes.start("b", workers=2)
        serving = lambda: [n for n in client.store.nodes() if n.info.get("workers")]  # noqa: E731
        eventually(lambda: len(serving()) == 2, timeout=30)
        ids = [client.create_task("SPAN", queue="solo", metadata={"log": str(log), "sleep": 0.15})
               for _ in range(8)]
        ids += [client.create_task("SPAN", queue="free", metadata={"log": str(log), "sleep": 0.15})
                for _ in range(4)]
        for task_id in ids:
            client.wait(task_id, timeout=30)
    solo = sorted((start, end) for _, queue, _, start, end in spans(log) if queue == "solo")
    assert len(solo) == 8
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(solo))  # never two at once
    free = [s for s in spans(log) if s[1] == "free"]
    assert len(free) == 4


def test_a_node_with_queues_never_takes_another_queues_task(nodes: Nodes, tmp_path: Path) -> None:
    log = tmp_path / "spans.txt"
    nodes.start("a", queues="qa")
    nodes.start("b", queues="qb,default")
    with actors.Supervisor.start(nodes.url, workers=0) as client:
        ids = [client.create_task("SPAN", queue=queue, metadata={"log": str(log), "sleep": 0.02})
               for queue in ("qa", "qb", None) * 4]
        for task_id in ids:
            client.wait(task_id, timeout=30)
    ran = {(queue, node) for _, queue, node, _, _ in spans(log)}
    assert len(spans(log)) == 12
    assert ran <= {("qa", "a"), ("qb", "b"), ("default", "b")}
    assert ("qa", "a") in ran and ("qb", "b") in ran


def test_a_paused_queue_starts_nothing_until_resumed_on_another_node(nodes: Nodes, tmp_path: Path) -> None:
    log = tmp_path / "spans.txt"
    nodes.start("a")
    with actors.Supervisor.start(nodes.url, workers=0) as client:
        client.pause_queue("held")
        held = client.create_task("SPAN", queue="held", metadata={"log": str(log)})
        other = client.create_task("SPAN", metadata={"log": str(log)})
        client.wait(other, timeout=30)
        assert client.get_task(held).status is actors.TaskStatus.PENDING  # type: ignore[union-attr]
        client.resume_queue("held")
        client.wait(held, timeout=10)
    eventually(lambda: len(spans(log)) == 2)
