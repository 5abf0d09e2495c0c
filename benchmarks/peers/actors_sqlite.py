"""``actors`` on SQLite, through its public API only (see shared/design/API.md).

Runs in the project's own environment (``--actors-python``), not the peers'
virtual environment. Configured by the driver through the environment:

- ``BENCH_ACTORS_SYNC``: ``NORMAL`` or ``FULL``, passed as
  ``Supervisor.start(..., synchronous=...)``.
- ``BENCH_ACTORS_MODE``:
  ``embedded`` — the serving supervisor runs in the phase process, which is
  also the producer (the way an application embeds ``actors``); the worker
  side measured for RSS is that process plus its children.
  ``remote`` — the serving supervisor runs in a separate process
  (``python -m peers.actors_sqlite serve N``, like ``actors worker``) and the
  producer is a client-only supervisor (``workers=0``) on the same file, the
  same split as the peers' producer and consumer processes.

Phase A always enqueues through a client-only supervisor (no worker running),
closes it, then starts the serving supervisor and times the drain.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from typing import Any

import actors

from .common import PeerBase, WorkerProcs, add_and_record, workdir

MODE = os.environ.get("BENCH_ACTORS_MODE", "embedded")
SYNC = os.environ.get("BENCH_ACTORS_SYNC", "NORMAL")
DB_PATH = workdir() / "actors.db"
NAME = "ADD"
PREFILL_CHUNK = 10_000


def add(ctx: Any, options: dict[str, Any], task: Any) -> int:
    return add_and_record(options["i"], options["a"], options["b"])


WORKER = actors.TaskWorker(NAME, add)


def start_supervisor(workers: int) -> Any:
    sup = actors.Supervisor.start(str(DB_PATH), workers=workers, synchronous=SYNC)
    sup.register_task_worker(WORKER)
    return sup


def spec(i: int, **extra: Any) -> dict[str, Any]:
    return {"name": NAME, "metadata": {"i": i, "a": 1, "b": 2}, **extra}


class ActorsSystem(PeerBase):
    bulk = True
    table = True

    def __init__(self) -> None:
        suffix = "" if SYNC == "NORMAL" else f"_{SYNC.lower()}"
        self.name = f"actors{suffix}" if MODE == "embedded" else f"actors_{MODE}{suffix}"
        self.serving: Any = None  # embedded serving supervisor
        self.client: Any = None  # client-only supervisor (workers=0)
        self.procs = WorkerProcs(workdir() / "actors-logs")

    def version(self) -> str:
        return f"actors {version('actors')} ({MODE}, synchronous={SYNC})"

    def reset(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{DB_PATH}{suffix}")

    @property
    def producer(self) -> Any:
        sup = self.client or self.serving
        if sup is None:
            raise RuntimeError("open_producer() first")
        return sup

    def open_producer(self) -> None:
        if self.client is None and self.serving is None:
            self.client = start_supervisor(0)

    def close_producer(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            client.stop(timeout=30)

    def enqueue(self, i: int) -> None:
        self.producer.create_task(NAME, metadata={"i": i, "a": 1, "b": 2})

    def enqueue_bulk(self, indices: Sequence[int]) -> None:
        self.producer.create_tasks([spec(i) for i in indices])

    def start_workers(self, workers: int) -> list[int]:
        if MODE == "embedded":
            self.serving = start_supervisor(workers)
            return [os.getpid()]
        argv = [sys.executable, "-m", "peers.actors_sqlite", "serve", str(workers)]
        return [self.procs.start(argv, "serve")]

    def stop_workers(self) -> None:
        try:
            if self.serving is not None:
                serving, self.serving = self.serving, None
                serving.stop(timeout=30)
        finally:
            self.procs.stop()

    def prefill(self, finished: int, future: int) -> None:
        """``future`` pending tasks due in ten years and ``finished`` SUCCEEDED tasks, written
        by another process (``python -m peers.actors_sqlite prefill F U``), so the memory
        measured afterwards in this process is the node's, not the prefill's."""
        subprocess.run([sys.executable, "-m", "peers.actors_sqlite", "prefill", str(finished), str(future)],
                       check=True, timeout=3600)


def prefill(finished: int, future: int) -> None:
    """The prefill itself (see ``ActorsSystem.prefill``).

    The public API cannot make a finished task without running it, so the
    finished rows are created like the future ones (with a marker
    description) and then flipped to ``succeeded`` with one SQL UPDATE on
    the task table (found by its ``status`` and ``description`` columns).
    The result is checked through the public API.
    """
    eta = datetime.now(timezone.utc) + timedelta(days=3650)
    sup = start_supervisor(0)
    try:
        for label, count in (("prefill-finished", finished), ("prefill-future", future)):
            for start in range(0, count, PREFILL_CHUNK):
                stop = min(count, start + PREFILL_CHUNK)
                sup.create_tasks(
                    [spec(-1 - k, run_at=eta, description=label) for k in range(start, stop)]
                )
    finally:
        sup.stop(timeout=60)
    if finished:
        conn = sqlite3.connect(DB_PATH, timeout=60)
        try:
            table, columns = next(
                (t, cols)
                for t in (
                    r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                )
                for cols in [{c[1] for c in conn.execute(f'PRAGMA table_info("{t}")')}]
                if {"status", "description"} <= cols
            )
            now = time.time()
            # What a finished run leaves on its row, where the table has the column.
            wanted = {
                "status": actors.TaskStatus.SUCCEEDED.value,
                "finished_at": now,
                "updated_at": now,
                "run_at": now,
                "attempts": 1,
                "result": "3",
            }
            changes = {k: v for k, v in wanted.items() if k in columns}
            with conn:
                conn.execute(
                    f'UPDATE "{table}" SET '
                    + ", ".join(f"{k} = ?" for k in changes)
                    + " WHERE description = ?",
                    (*changes.values(), "prefill-finished"),
                )
        finally:
            conn.close()
        sup = start_supervisor(0)
        try:
            if not sup.get_tasks(status=actors.TaskStatus.SUCCEEDED, limit=1):
                raise RuntimeError("prefill: no task reads back as SUCCEEDED; the table layout changed")
        finally:
            sup.stop(timeout=60)


def make() -> ActorsSystem:
    return ActorsSystem()


def serve(workers: int) -> None:
    """The remote worker side: a serving supervisor until SIGTERM or SIGINT."""
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    sup = start_supervisor(workers)
    try:
        while not done.wait(0.5):
            pass
    finally:
        sup.stop(timeout=30)


if __name__ == "__main__":
    # Re-import under the real module name, so the task function is shipped to
    # the pool by reference (peers.actors_sqlite.add), not from __main__.
    from peers.actors_sqlite import prefill as _prefill
    from peers.actors_sqlite import serve as _serve

    if sys.argv[1:2] == ["serve"]:
        _serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["prefill"]:
        _prefill(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit("usage: python -m peers.actors_sqlite serve WORKERS | prefill FINISHED FUTURE")
