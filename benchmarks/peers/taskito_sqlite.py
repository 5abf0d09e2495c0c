"""taskito (Rust core) on a SQLite file, with a prefork pool of worker processes.

The queue is built at import time, as taskito expects: the worker command
(``taskito worker --app peers.taskito_sqlite:queue --pool prefork``) imports this
module to find it, and so does each prefork child. The SQLite file is in the
phase's workdir (``BENCH_WORKDIR``, inherited by the workers).

Settings: taskito's throughput settings, ``scheduler_batch_size=64`` (claim up to
64 jobs per dispatch round instead of 1), ``push_dispatch=True`` (an enqueue
wakes the scheduler; honoured only when the native module was built with the
``push-dispatch`` feature, otherwise taskito warns in the worker log and keeps
polling) and ``scheduler_poll_interval_ms=5`` (default 50). ``workers`` is the
number of prefork children (``BENCH_TASKITO_WORKERS``, set by ``start_workers``).
Everything else is taskito's default (results kept, 3 retries).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

from taskito import Queue

from .common import PeerBase, WorkerProcs, add_and_record, workdir

DB_PATH = workdir() / "taskito.db"
QUEUE = "default"
SETTINGS = {"scheduler_batch_size": 64, "push_dispatch": True, "scheduler_poll_interval_ms": 5}

queue = Queue(
    db_path=str(DB_PATH),
    workers=int(os.environ.get("BENCH_TASKITO_WORKERS", "2")),
    **SETTINGS,  # type: ignore[arg-type]
)


@queue.task()
def add(i: int, a: int, b: int) -> int:
    return add_and_record(i, a, b)


class TaskitoSystem(PeerBase):
    """Producer: ``task.delay`` (bulk: ``Queue.enqueue_many``, one transaction).

    Workers: one ``taskito worker --pool prefork`` process whose Rust scheduler
    claims jobs and hands them to ``workers`` child interpreters (one job at a
    time each). Graceful stop: SIGTERM (a warm shutdown that drains).
    """

    name = "taskito_sqlite"
    bulk = True
    table = False  # no phase-E prefill written for it

    def __init__(self) -> None:
        self.procs = WorkerProcs(workdir() / "taskito-logs")

    def version(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in SETTINGS.items())
        return f"taskito {version('taskito')} (prefork; {settings})"

    def reset(self) -> None:
        """Cancel whatever is pending (phase A resets between its two enqueues).

        Each phase runs in a fresh workdir, so the file starts empty otherwise.
        """
        queue.purge(QUEUE)

    def enqueue(self, i: int) -> None:
        add.delay(i, 1, 2)

    def enqueue_bulk(self, indices: Sequence[int]) -> None:
        queue.enqueue_many(add.name, [(i, 1, 2) for i in indices])

    def start_workers(self, workers: int) -> list[int]:
        argv = [
            str(Path(sys.executable).with_name("taskito")),
            "worker",
            "--app",
            "peers.taskito_sqlite:queue",
            "--pool",
            "prefork",
        ]
        # The Rust pool spawns its children with the interpreter's resolved path, which is
        # outside the venv (no taskito there) unless TASKITO_PYTHON names the venv's.
        env = {
            "BENCH_TASKITO_WORKERS": str(workers),
            "TASKITO_PYTHON": sys.executable,
            "TASKITO_LOG_LEVEL": "WARNING",  # as for every peer
        }
        self.procs.start(argv, "worker", env=env)
        return self.procs.pids


def make() -> TaskitoSystem:
    return TaskitoSystem()
