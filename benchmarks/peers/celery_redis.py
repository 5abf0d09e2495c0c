"""Celery with the Redis broker and the prefork pool."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.metadata import version

from celery import Celery

from .common import PEER_DBS, REDIS_HOST, REDIS_PORT, PeerBase, WorkerProcs, add_and_record, flush_db, workdir

DB = PEER_DBS["celery_redis"]
app = Celery("bench", broker=f"redis://{REDIS_HOST}:{REDIS_PORT}/{DB}")
app.conf.update(
    task_ignore_result=True,  # no result backend configured
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="add")
def add(i: int, a: int, b: int) -> int:
    return add_and_record(i, a, b)


class CelerySystem(PeerBase):
    """Producer: ``task.delay``. Workers: ``celery worker --concurrency N --pool prefork``
    with Celery's defaults otherwise (early ack, prefetch multiplier 4, mingle, gossip)."""

    name = "celery_redis"
    bulk = False
    table = False

    def __init__(self) -> None:
        self.procs = WorkerProcs(workdir() / "celery-logs")

    def version(self) -> str:
        return f"celery {version('celery')}"

    def reset(self) -> None:
        flush_db(DB)

    def enqueue(self, i: int) -> None:
        add.delay(i, 1, 2)

    def enqueue_bulk(self, indices: Sequence[int]) -> None:
        raise NotImplementedError("Celery has no bulk enqueue (a group sends one message per task)")

    def start_workers(self, workers: int) -> list[int]:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "peers.celery_redis",
            "worker",
            "--concurrency",
            str(workers),
            "--pool",
            "prefork",
            "--loglevel",
            "WARNING",
        ]
        return [self.procs.start(argv, "celery")]


def make() -> CelerySystem:
    return CelerySystem()
