"""SQLite under real faults: a foreign process holding the write lock past the busy timeout,
a full disk (a 2 MiB tmpfs), the database file made read-only under the node. The node survives each (health shows
the failure), refuses creates with ``StoreError`` while it must, loses nothing already
stored, and serves again once the fault is gone."""

from __future__ import annotations

import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import actors
from actors.storage.sqlite import SQLiteStore
from tests.helpers import eventually

from .conftest import spawn_python


class Runs:
    """What the task function saw: each task id once per run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: Counter[str] = Counter()

    def __call__(self, ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        with self.lock:
            self.ids[task.id] += 1
        return task.id


def _node(store: Any) -> actors.Supervisor:
    return actors.Supervisor.start(store, workers=2, executor="thread", thread_workers=2, poll_interval=0.05,
                                   lease_ttl=10.0)


@pytest.fixture
def runs() -> Runs:
    return Runs()


def _failing_ops(sup: actors.Supervisor) -> list[str]:
    health = sup.stats()["health"]
    ops = [op for op, state in health["ops"].items() if not state["ok"]]
    return ops + [name for name, loop in health["loops"].items() if not loop["ok"]]


def _hold_exclusive_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    holder = spawn_python(f'''
        import sqlite3, time
        db = sqlite3.connect({str(db)!r}, isolation_level=None, timeout=30)
        db.execute("BEGIN EXCLUSIVE")
        print("locked", flush=True)
        time.sleep({seconds})
        db.execute("COMMIT")
    ''')
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def _lock_past_busy_timeout(tmp_path: Path, runs: Runs, *, busy_timeout: float, hold: float, tasks: int) -> None:
    db = tmp_path / "tasks.db"
    sup = _node(SQLiteStore(str(db), busy_timeout=busy_timeout))
    try:
        sup.register_task_worker(actors.TaskWorker("REC", runs, isolation="thread"))
        assert sup.wait(sup.create_task("REC"), timeout=10)
        ids = sup.create_tasks([{"name": "REC", "delay": 0.3} for _ in range(tasks)])
        holder = _hold_exclusive_lock(db, hold)
        try:
            with pytest.raises(actors.StoreError):
                sup.create_task("REC")  # a write waits busy_timeout, then is refused
        finally:
            holder.wait(timeout=hold + 10)
        for task_id in ids:
            assert sup.wait(task_id, timeout=30) == task_id
        assert all(runs.ids[task_id] == 1 for task_id in ids)
        eventually(lambda: not _failing_ops(sup), timeout=10)
        ops = sup.stats()["health"]["ops"]
        assert ops["claim"]["total_failures"] >= 1  # the due tasks' claims failed, and were retried
        assert sup.wait(sup.create_task("REC"), timeout=10)  # and keeps serving
    finally:
        sup.stop()


def test_a_foreign_exclusive_lock_past_the_busy_timeout(tmp_path: Path, runs: Runs) -> None:
    _lock_past_busy_timeout(tmp_path, runs, busy_timeout=0.3, hold=2.0, tasks=10)


@pytest.mark.slow
def test_a_foreign_exclusive_lock_past_the_default_busy_timeout(tmp_path: Path, runs: Runs) -> None:
    _lock_past_busy_timeout(tmp_path, runs, busy_timeout=5.0, hold=14.0, tasks=200)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as out:  # unbuffered: nothing left to flush (and fail) at close
        try:
            while out.write(chunk):
                pass
        except OSError:  # ENOSPC: the disk is full
            pass
    return filler


@pytest.fixture
def small_disk_node(tmpfs: Path, runs: Runs) -> Iterator[tuple[actors.Supervisor, Path]]:
    sup = _node(str(tmpfs / "tasks.db"))
    sup.register_task_worker(actors.TaskWorker("REC", runs, isolation="thread"))
    try:
        yield sup, tmpfs
    finally:
        sup.stop()


def test_a_full_disk_refuses_creates_loses_nothing_and_recovers(
        small_disk_node: tuple[actors.Supervisor, Path], runs: Runs) -> None:
    sup, disk = small_disk_node
    before = [sup.create_task("REC", metadata={"n": n}) for n in range(5)]
    for task_id in before:
        assert sup.wait(task_id, timeout=10) == task_id
    filler = _fill(disk)
    created: list[str] = []
    with pytest.raises(actors.StoreError):
        for n in range(2000):  # free pages the file already has take a few
            created.append(sup.create_task("REC", metadata={"pad": "x" * 4000, "n": n}))
    assert sup.stats()["tasks"]["succeeded"] >= 5  # the node is up
    for task_id in before:
        task = sup.get_task(task_id)
        assert task is not None and task.status is actors.TaskStatus.SUCCEEDED
    filler.unlink()
    for task_id in created:
        assert sup.wait(task_id, timeout=20) == task_id
    after = sup.create_task("REC")
    assert sup.wait(after, timeout=20) == after
    assert all(count == 1 for count in runs.ids.values())


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Any]:
    """Make files read-only under an open connection: the immutable attribute (``chattr +i``;
    root ignores mode bits, and a busy mount cannot be remounted ``ro``). Every write to them
    fails with EPERM, seen by SQLite as a disk I/O error. The attribute is always removed."""
    marked: list[Path] = []

    def mark(*paths: Path) -> None:
        for path in paths:
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"cannot make {path.name} immutable here: {done.stderr.strip()}")
            marked.append(path)

    def clear() -> None:
        while marked:
            subprocess.run(["chattr", "-i", str(marked.pop())], capture_output=True)

    mark.clear = clear  # type: ignore[attr-defined]
    try:
        yield mark
    finally:
        clear()


def test_a_read_only_database_file_refuses_writes_keeps_the_node_up_and_recovers(
        tmp_path: Path, runs: Runs, read_only: Any) -> None:
    db = tmp_path / "tasks.db"
    sup = _node(str(db))
    try:
        sup.register_task_worker(actors.TaskWorker("REC", runs, isolation="thread"))
        before = sup.create_task("REC")
        assert sup.wait(before, timeout=10) == before
        later = sup.create_tasks([{"name": "REC", "delay": 0.3} for _ in range(5)])
        # the shared-memory index stays writable: it is mapped, and SQLite dies of SIGBUS on it
        read_only(db, db.with_name("tasks.db-wal"))
        with pytest.raises(actors.StoreError):
            sup.create_task("REC")
        eventually(lambda: "claim" in _failing_ops(sup), timeout=10)  # the delayed tasks came due
        task = sup.get_task(before)  # reads still answer, nothing stored was lost
        assert task is not None and task.status is actors.TaskStatus.SUCCEEDED
        read_only.clear()
        for task_id in later:
            assert sup.wait(task_id, timeout=20) == task_id
        eventually(lambda: not _failing_ops(sup), timeout=10)
        after = sup.create_task("REC")
        assert sup.wait(after, timeout=10) == after
        assert all(count == 1 for count in runs.ids.values())
    finally:
        sup.stop()
