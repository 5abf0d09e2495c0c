"""Workers for the queue tests' node processes (``actors worker tests.integration.queue_workers``).

``SPAN`` sleeps ``options["sleep"]`` seconds and appends ``<task id> <queue> <node> <start> <end>``
to ``options["log"]`` (``O_APPEND``: one write per line; ``node`` is the node process's
``QUEUE_TEST_NODE`` environment variable, inherited by its worker child).
"""

from __future__ import annotations

import os
import time
from typing import Any

import actors


def span(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
    start = time.time()
    time.sleep(float(options.get("sleep", 0.0)))
    node = os.environ.get("QUEUE_TEST_NODE", "?")
    line = f"{task.id} {task.queue or 'default'} {node} {start:.6f} {time.time():.6f}\n"
    fd = os.open(options["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


SPAN = actors.TaskWorker("SPAN", span)
