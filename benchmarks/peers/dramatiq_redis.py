"""Dramatiq with its Redis broker."""

from __future__ import annotations

import sys
from importlib.metadata import version

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from .common import PEER_DBS, REDIS_HOST, REDIS_PORT, PeerBase, WorkerProcs, add_and_record, flush_db, workdir

DB = PEER_DBS["dramatiq_redis"]
broker = RedisBroker(url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{DB}")
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="add", queue_name="bench")
def add(i: int, a: int, b: int) -> int:
    return add_and_record(i, a, b)


class DramatiqSystem(PeerBase):
    """Producer: ``actor.send``. Workers: ``dramatiq --processes N --threads 8``
    (Dramatiq's default threads); default middleware, no result backend."""

    name = "dramatiq_redis"
    bulk = False
    table = False

    def __init__(self) -> None:
        self.procs = WorkerProcs(workdir() / "dramatiq-logs")

    def version(self) -> str:
        return f"dramatiq {version('dramatiq')}"

    def reset(self) -> None:
        flush_db(DB)

    def enqueue(self, i: int) -> None:
        add.send(i, 1, 2)

    def start_workers(self, workers: int) -> list[int]:
        argv = [
            sys.executable,
            "-m",
            "dramatiq",
            "peers.dramatiq_redis:broker",
            "--processes",
            str(workers),
            "--threads",
            "8",
        ]
        return [self.procs.start(argv, "dramatiq")]


def make() -> DramatiqSystem:
    return DramatiqSystem()
