"""``actors demo``: a small mixed workload on a new SQLite file, and what happened to it.

Its store is ``--store``, else a new SQLite file in a temporary directory (never
``$ACTORS_STORE``: the demo's tasks do not belong in a user's store).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from datetime import datetime, timezone
from typing import Any

from ..errors import ActorsError
from ..models import TaskStatus
from . import _render as render
from ._common import OK, command, common_options, wants_json

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``demo`` to the ``actors`` parser."""
    own = common_options("store: an SQLite path or postgresql://... (default: a new SQLite file; never $ACTORS_STORE)")
    demo = command(sub, "demo", own, run_demo, "run a small mixed workload on an SQLite file")
    demo.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")


def run_demo(args: argparse.Namespace) -> int:
    """Run a small mixed workload and print what happened."""
    from ..demo import DEMO_WORKERS
    from ..system import Supervisor

    quiet = wants_json(args)
    path = getattr(args, "store", None) or os.path.join(tempfile.mkdtemp(prefix="actors-demo-"), "demo.db")
    if not quiet:
        render.line(f"actors demo: store {path}, {args.workers} worker process(es)")
        render.line()
    started = time.monotonic()
    # max_batch=1: each worker takes one task at a time, so the run order follows the priorities
    with Supervisor.start(path, workers=args.workers, max_batch=1) as sup:
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
        for task_id in ids:
            with contextlib.suppress(ActorsError):  # (a failure is part of the demo: its error is in the table)
                sup.wait(task_id, timeout=60)
        for _ in range(3):
            sup.wait(beat, timeout=10)
        sup.delete_task(beat)
        never = datetime.min.replace(tzinfo=timezone.utc)
        tasks = sorted((t for t in (sup.get_task(i) for i in ids) if t is not None),
                       key=lambda t: t.finished_at or t.updated_at or never)
        counts = sup.stats()["tasks"]
    if quiet:
        render.print_json({"store": path, "tasks": tasks, "heartbeat": beat, "counts": counts,
                           "seconds": time.monotonic() - started})
        return OK
    render.table(["id", "name", "priority", "status", "attempts", "result / error", "description"],
                 [[t.id[:8], t.name, t.priority, t.status.value, t.attempts,
                   (repr(t.result) if t.status is TaskStatus.SUCCEEDED else (t.error or ""))[:60], t.description]
                  for t in tasks], title="Tasks, in the order they finished:")
    render.line()
    render.line(f"The recurring HEARTBEAT ran 3 times and was then deleted (id {beat[:8]}).")
    render.line(f"Store counts: {counts}")
    render.line(f"Done in {time.monotonic() - started:.1f}s.")
    return OK
