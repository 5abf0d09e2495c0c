"""DBOS Transact with its SQLite system database: durable workflows on a queue.

The task is a workflow (``add``, no steps): DBOS records its start, inputs and
output in the system database. The producer enqueues it through a
``DBOSClient`` (DBOS's API for a process that does not run the workflows); the
workers are separate DBOS processes (``python -m peers.dbos_sqlite worker K``),
each with its own ``executor_id`` and listening to the queue ``bench``,
registered with ``worker_concurrency=1`` (one workflow at a time per worker
process) and ``polling_interval_sec=0.01`` (default 1 s). DBOS has no bulk
enqueue. Logging at WARNING, as for every peer; everything else is DBOS's
default.
"""

from __future__ import annotations

import signal
import sys
import threading
from importlib.metadata import version
from typing import Any

from dbos import DBOS, DBOSClient, EnqueueOptions

from .common import PeerBase, WorkerProcs, add_and_record, workdir

DB_PATH = workdir() / "dbos.sqlite"
URL = f"sqlite:///{DB_PATH}"
APP = "bench"
QUEUE = "bench"
POLLING_INTERVAL_SEC = 0.01
WORKER_CONCURRENCY = 1


@DBOS.workflow(name="add")
def add(i: int, a: int, b: int) -> int:
    return add_and_record(i, a, b)


class DbosSystem(PeerBase):
    """Producer: ``DBOSClient.enqueue`` (one insert into ``workflow_status`` per task).

    Workers: N ``python -m peers.dbos_sqlite worker K`` processes. Graceful stop:
    SIGTERM, which ``DBOS.destroy()``\\ s the process.
    """

    name = "dbos_sqlite"
    bulk = False
    table = False  # no phase-E prefill written for it

    def __init__(self) -> None:
        self.procs = WorkerProcs(workdir() / "dbos-logs")
        self.client: DBOSClient | None = None
        self.options: EnqueueOptions = {"workflow_name": "add", "queue_name": QUEUE}

    def version(self) -> str:
        return (
            f"dbos {version('dbos')} (worker_concurrency={WORKER_CONCURRENCY}, "
            f"polling_interval_sec={POLLING_INTERVAL_SEC})"
        )

    def reset(self) -> None:
        """Remove the system database and create it empty (a ``DBOSClient`` never migrates)."""
        self.close_producer()
        for suffix in ("", "-wal", "-shm"):
            DB_PATH.with_name(DB_PATH.name + suffix).unlink(missing_ok=True)
        DBOS.migrate(URL)

    def open_producer(self) -> None:
        if self.client is None:
            self.client = DBOSClient(system_database_url=URL, application_name=APP)

    def close_producer(self) -> None:
        if self.client is not None:
            self.client.destroy()
            self.client = None

    def enqueue(self, i: int) -> None:
        assert self.client is not None
        self.client.enqueue(self.options, i, 1, 2)

    def start_workers(self, workers: int) -> list[int]:
        for k in range(workers):
            argv = [sys.executable, "-m", "peers.dbos_sqlite", "worker", str(k)]
            self.procs.start(argv, f"worker-{k}")
        return self.procs.pids


def serve(k: int) -> None:
    """One worker process: a launched DBOS application listening to the queue until SIGTERM."""
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    DBOS(
        config={
            "name": APP,
            "system_database_url": URL,
            "executor_id": f"bench-{k}",
            "log_level": "WARNING",
        }
    )
    DBOS.launch()
    DBOS.register_queue(
        QUEUE, worker_concurrency=WORKER_CONCURRENCY, polling_interval_sec=POLLING_INTERVAL_SEC
    )
    stop.wait()
    DBOS.destroy()


def make() -> DbosSystem:
    return DbosSystem()


if __name__ == "__main__":
    if sys.argv[1:2] != ["worker"] or len(sys.argv) != 3:
        sys.exit("usage: python -m peers.dbos_sqlite worker K")
    serve(int(sys.argv[2]))
