"""Workers for the multi-node PostgreSQL tests (imported by `actors worker` node processes).

Each run appends one line ``<task id> <pid> <run_at>`` to the file named in its
metadata (``O_APPEND``: one write per line, so lines from several processes never
interleave) — the record written by the task itself that the tests count.
"""

from __future__ import annotations

import os
import time
from typing import Any

import actors


def record(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    time.sleep(float(options.get("sleep", 0.0)))
    run_at = task.run_at.timestamp() if task.run_at is not None else 0.0
    fd = os.open(options["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{task.id} {os.getpid()} {run_at:.3f}\n".encode())
    finally:
        os.close(fd)
    return task.id


RECORD = actors.TaskWorker("RECORD", record)
TICK = actors.TaskWorker("TICK", record)
BEAT = actors.TaskWorker("BEAT", record)
