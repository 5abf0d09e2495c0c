"""The ``actors`` command: ``actors demo`` and ``actors worker MODULE``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from .errors import ActorsError
from .models import TaskStatus
from .system import Supervisor
from .workers import TaskWorker

__all__ = ["main"]


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False))
             for row in [header, ["-" * w for w in widths], *rows]]
    return "\n".join(line.rstrip() for line in lines)


def demo(store: str | None, workers: int) -> int:
    """Run a small mixed workload and print what happened."""
    from .demo import DEMO_WORKERS

    path = store or os.path.join(tempfile.mkdtemp(prefix="actors-demo-"), "demo.db")
    print(f"actors demo: store {path}, {workers} worker process(es)\n")
    started = time.monotonic()
    # max_batch=1: each worker takes one task at a time, so the run order follows the priorities
    with Supervisor.start(path, workers=workers, max_batch=1) as sup:
        # created before the workers are registered, so the pool sees them all at once
        ids = sup.create_tasks(
            [{"name": "ADD", "priority": prio, "metadata": {"a": i, "b": 10 * i},
              "description": f"{prio} priority add"}
             for i, prio in enumerate(["low", "normal", "high", "low", "high", "normal"])]
        )
        ids.append(sup.create_task("DELAYED", delay=1.0, description="runs one second later"))
        ids.append(sup.create_task("SYNC_FLAKY", description="fails twice, then succeeds"))
        ids.append(sup.create_task("SLOW", metadata={"seconds": 30}, description="outlives its 1 s timeout"))
        beat = sup.create_task("HEARTBEAT", update_interval=0.5, description="recurring every 0.5 s",
                               run_at=datetime.now(timezone.utc))
        for worker in DEMO_WORKERS:
            sup.register_task_worker(worker)
        outcomes: dict[str, str] = {}
        for task_id in ids:
            try:
                outcomes[task_id] = f"result {sup.wait(task_id, timeout=60)!r}"
            except ActorsError as exc:
                outcomes[task_id] = type(exc).__name__
        for _ in range(3):
            sup.wait(beat, timeout=10)
        sup.delete_task(beat)
        never = datetime.min.replace(tzinfo=timezone.utc)
        tasks = sorted((t for t in (sup.get_task(i) for i in ids) if t is not None),
                       key=lambda t: t.finished_at or t.updated_at or never)
        rows = []
        for task in tasks:
            shown = repr(task.result) if task.status is TaskStatus.SUCCEEDED else (task.error or "")
            rows.append([task.id[:8], task.name, task.priority, task.status.value, str(task.attempts),
                         shown[:60], task.description])
        print("Tasks, in the order they finished:")
        print(_table(rows, ["id", "name", "priority", "status", "attempts", "result / error",
                            "description"]))
        print(f"\nThe recurring HEARTBEAT ran 3 times and was then deleted (id {beat[:8]}).")
        stats = sup.stats()
        print(f"Store counts: {stats['tasks']}")
    print(f"Done in {time.monotonic() - started:.1f}s.")
    return 0


def _find_workers(module_name: str) -> list[TaskWorker]:
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
          queues: Sequence[str] | None = None) -> int:
    """Serve the workers a module defines until SIGINT / SIGTERM (only ``queues``' tasks, if given)."""
    sys.path.insert(0, os.getcwd())
    task_workers = _find_workers(module_name)
    if not task_workers:
        print(f"actors worker: module {module_name!r} defines no actors.TaskWorker", file=sys.stderr)
        return 2
    done = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with Supervisor.start(store, workers=workers, lease_ttl=lease_ttl, queues=queues) as sup:
        for worker in task_workers:
            sup.register_task_worker(worker)
        names = ", ".join(w.name for w in task_workers)
        print(f"actors worker: serving {names} from {store} (node {sup.node_id}); Ctrl-C stops",
              flush=True)
        while not done.wait(1.0):
            pass
        print("actors worker: stopping (running tasks finish or go back to pending)", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="actors", description="A durable background-task runtime.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="run a small mixed workload on an SQLite file")
    p_demo.add_argument("--store", default=None,
                        help="store: an SQLite path or postgresql://...[?schema=NAME] (default: a new SQLite file)")
    p_demo.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p_worker = sub.add_parser("worker", help="serve the task workers a module defines, until Ctrl-C")
    p_worker.add_argument("module", help="importable module defining actors.TaskWorker objects")
    p_worker.add_argument("--store", default="tasks.db",
                          help="store: an SQLite path or postgresql://...[?schema=NAME] (default tasks.db)")
    p_worker.add_argument("--workers", type=int, default=None, help="worker processes (default: CPUs)")
    p_worker.add_argument("--lease-ttl", type=float, default=30.0,
                          help="seconds before a dead node's tasks are reclaimed (default 30)")
    p_worker.add_argument("--queues", default=None, help="claim only these queues, comma-separated (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "demo":
            return demo(args.store, args.workers)
        queues = None if args.queues in (None, "*") else [q.strip() for q in args.queues.split(",") if q.strip()]
        return serve(args.module, args.store, args.workers, args.lease_ttl, queues)
    except ActorsError as exc:
        print(f"actors: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
