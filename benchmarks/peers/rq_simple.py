"""RQ with SimpleWorker (runs jobs in the worker process, no fork per job), on Redis."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from importlib.metadata import version

from redis import Redis
from rq import Queue

from .common import PEER_DBS, REDIS_HOST, REDIS_PORT, PeerBase, WorkerProcs, add_and_record, flush_db, workdir

DB = PEER_DBS["rq_simple"]
URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{DB}"
QUEUE = "bench"


def add(i: int, a: int, b: int) -> int:
    return add_and_record(i, a, b)


class RqSystem(PeerBase):
    """Producer: ``Queue.enqueue`` (bulk: ``Queue.enqueue_many``, one pipeline).

    Workers: N separate ``rq worker -w rq.worker.SimpleWorker`` processes (an RQ
    worker runs one job at a time). RQ's defaults otherwise: results kept 500 s.
    """

    name = "rq_simple"
    bulk = True
    table = False

    def __init__(self) -> None:
        self.procs = WorkerProcs(workdir() / "rq-logs")
        self.queue: Queue | None = None

    def version(self) -> str:
        return f"rq {version('rq')}"

    def reset(self) -> None:
        flush_db(DB)

    def open_producer(self) -> None:
        if self.queue is None:
            self.queue = Queue(QUEUE, connection=Redis.from_url(URL))

    def close_producer(self) -> None:
        if self.queue is not None:
            self.queue.connection.close()
            self.queue = None

    def enqueue(self, i: int) -> None:
        assert self.queue is not None
        self.queue.enqueue(add, i, 1, 2)

    def enqueue_bulk(self, indices: Sequence[int]) -> None:
        assert self.queue is not None
        self.queue.enqueue_many([Queue.prepare_data(add, (i, 1, 2)) for i in indices])

    def start_workers(self, workers: int) -> list[int]:
        for k in range(workers):
            argv = [
                sys.executable,
                "-m",
                "rq.cli",
                "worker",
                "-w",
                "rq.worker.SimpleWorker",
                "-u",
                URL,
                "-n",
                f"bench-{k}-{uuid.uuid4().hex[:8]}",
                "--logging_level",
                "WARNING",
                QUEUE,
            ]
            self.procs.start(argv, f"worker-{k}")
        return self.procs.pids


def make() -> RqSystem:
    return RqSystem()
