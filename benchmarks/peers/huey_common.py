"""Shared driver side of the two Huey peers (SqliteHuey and RedisHuey)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from .common import PeerBase, WorkerProcs, workdir


class HueySystem(PeerBase):
    """Huey: the producer calls the task; ``huey_consumer -w N -k process`` runs it.

    The consumer's graceful signal is SIGINT (SIGTERM interrupts running tasks).
    Logging at WARNING (``-q``), as for every peer. Other options are Huey's
    defaults: results are stored (the task returns the sum), and SqliteHuey polls
    its table (0.1 s, backing off ×1.15 to 10 s while idle).
    """

    bulk = False

    def __init__(
        self, name: str, huey: Any, task: Callable[..., Any], instance_path: str, table: bool
    ) -> None:
        self.name = name
        self.huey = huey
        self.task = task
        self.instance_path = instance_path
        self.table = table
        self.procs = WorkerProcs(workdir() / f"{name}-logs", graceful=signal.SIGINT)

    def version(self) -> str:
        return f"huey {version('huey')}"

    def reset(self) -> None:
        self.huey.flush()

    def enqueue(self, i: int) -> None:
        self.task(i, 1, 2)

    def start_workers(self, workers: int) -> list[int]:
        argv = [
            sys.executable,
            "-m",
            "huey.bin.huey_consumer",
            self.instance_path,
            "-w",
            str(workers),
            "-k",
            "process",
            "-q",
        ]
        return [self.procs.start(argv, "consumer")]
