"""Wake-ups between processes sharing one SQLite file: a serving node claims at once
what another process creates, instead of at its next poll."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import actors
from actors import TaskWorker
from actors.spec import TaskSpec, build_task
from actors.storage.sqlite import SQLiteStore
from actors.testing import eventually

from . import task_functions as fn


def task(now: float, **fields: object) -> actors.Task:
    return build_task(TaskSpec(name="JOB", **fields), task_id=str(uuid.uuid4()), now=now)  # type: ignore[arg-type]


class _Ears:
    """A wake-up callback that keeps what it heard."""

    def __init__(self) -> None:
        self.heard: list[float | None] = []
        self.arrived = threading.Event()

    def __call__(self, due: float | None) -> None:
        self.heard.append(due)
        self.arrived.set()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[SQLiteStore, SQLiteStore, _Ears]]:
    """Two stores on one file: a listener (subscribed) and a writer."""
    path = str(tmp_path / "w.db")
    listener, writer = SQLiteStore(path), SQLiteStore(path)
    ears = _Ears()
    try:
        listener.subscribe(ears)
        yield listener, writer, ears
    finally:
        writer.close()
        listener.close()


def test_a_listener_hears_what_another_store_commits_but_not_its_own(
        pair: tuple[SQLiteStore, SQLiteStore, _Ears]) -> None:
    listener, writer, ears = pair
    listener.add([task(time.time())])  # its own write: no wake-up
    now = time.time()
    writer.add([task(now, delay=100.0)])
    assert ears.arrived.wait(10)
    assert ears.heard == [pytest.approx(now + 100.0, abs=1e-5)]  # run_at keeps microseconds
    ears.arrived.clear()
    writer.add([task(now)])
    assert ears.arrived.wait(10)
    assert ears.heard[-1] == pytest.approx(now, abs=1e-5)
    health = listener.listener_health()
    assert health is not None and health["notifications"] == 2
    assert writer.listener_health() is None  # it never subscribed
    writer.close()
    listener.close()
    assert not os.path.exists(f"{listener.path}-wake")  # the last listener removed its socket and folder


def test_a_socket_left_by_a_dead_listener_is_removed_by_the_next_send(tmp_path: Path) -> None:
    path = str(tmp_path / "w.db")
    folder = Path(f"{path}-wake")
    folder.mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(folder / "12345-dead"))
    dead.close()  # bound, never unlinked: what a killed process leaves behind
    store = SQLiteStore(path)
    try:
        store.add([task(time.time())])
    finally:
        store.close()
    assert list(folder.iterdir()) == []


def test_a_serving_node_runs_another_process_task_without_waiting_for_its_poll(tmp_path: Path) -> None:
    path = str(tmp_path / "w.db")
    # The serving node polls once a minute: only a wake-up can make it run the task in time.
    with actors.Supervisor.start(path, workers=1, poll_interval=60.0) as node:
        node.register_task_worker(TaskWorker("ECHO", fn.echo))
        eventually(lambda: (node.stats()["health"]["listener"] or {}).get("connected"), timeout=10)
        with actors.Supervisor.start(path, workers=0) as client:
            task_id = client.create_task("ECHO", metadata={"x": 7})
            assert client.wait(task_id, timeout=20)["options"] == {"x": 7}


def test_a_rolled_back_write_wakes_nobody(pair: tuple[SQLiteStore, SQLiteStore, _Ears]) -> None:
    _, writer, ears = pair
    now = time.time()
    first = task(now)
    writer.add([first])
    assert ears.arrived.wait(10)
    ears.arrived.clear()
    with pytest.raises(actors.ValidationError):
        writer.add([task(now), first])  # the id is used: rolled back, nothing stored
    writer.add([task(now, delay=100.0)])
    assert ears.arrived.wait(10)
    assert ears.heard == [pytest.approx(now, abs=1e-5), pytest.approx(now + 100.0, abs=1e-5)]
