"""``actors worker MODULE``: serve the task workers a module defines until SIGINT / SIGTERM."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from ..workers import TaskWorker
from . import _render as render
from ._common import OK, USAGE, CommandError, command, store_of, wants_json

__all__ = ["find_workers", "register", "serve"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``worker`` to the ``actors`` parser."""
    worker = command(sub, "worker", common, run_worker, "serve the task workers a module defines, until Ctrl-C")
    worker.add_argument("module", help="importable module defining actors.TaskWorker objects")
    worker.add_argument("--workers", type=int, default=None, help="worker processes (default: CPUs)")
    worker.add_argument("--lease-ttl", type=float, default=30.0,
                        help="seconds before a dead node's tasks are reclaimed (default 30)")
    worker.add_argument("--queues", default=None, help="claim only these queues, comma-separated (default: all)")


def run_worker(args: argparse.Namespace) -> int:
    queues = None if args.queues in (None, "*") else [q.strip() for q in args.queues.split(",") if q.strip()]
    return serve(args.module, store_of(args), args.workers, args.lease_ttl, queues, as_json=wants_json(args))


def find_workers(module_name: str) -> list[TaskWorker]:
    """The ``TaskWorker`` objects (alone or in a list) at the top level of a module, by name."""
    module = importlib.import_module(module_name)
    found: list[TaskWorker] = []
    for value in vars(module).values():
        if isinstance(value, TaskWorker):
            found.append(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, TaskWorker) for v in value):
            found.extend(value)
    unique = {worker.name: worker for worker in found}
    return list(unique.values())


def serve(module_name: str, store: str, workers: int | None, lease_ttl: float = 30.0,
          queues: Sequence[str] | None = None, *, as_json: bool = False) -> int:
    """Serve the workers a module defines until SIGINT / SIGTERM (only ``queues``' tasks, if given).

    Prints one line once serving (``--json``: one JSON object with the names, the store
    and the node id); the line about stopping goes to stderr.
    """
    from ..system import Supervisor

    sys.path.insert(0, os.getcwd())
    try:
        task_workers = find_workers(module_name)
    except ImportError as exc:
        raise CommandError(f"actors worker: cannot import {module_name!r}: {exc}", USAGE) from None
    if not task_workers:
        raise CommandError(f"actors worker: module {module_name!r} defines no actors.TaskWorker", USAGE)
    done = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with Supervisor.start(store, workers=workers, lease_ttl=lease_ttl, queues=queues) as sup:
        for worker in task_workers:
            sup.register_task_worker(worker)
        names = [w.name for w in task_workers]
        if as_json:
            render.print_json({"serving": names, "store": store, "node_id": sup.node_id, "queues": queues},
                              compact=True)
        else:
            render.line(f"actors worker: serving {', '.join(names)} from {store} (node {sup.node_id}); "
                        "Ctrl-C stops")
            sys.stdout.flush()
        while not done.wait(1.0):
            pass
        render.error("actors worker: stopping (running tasks finish or go back to pending)")
    return OK
