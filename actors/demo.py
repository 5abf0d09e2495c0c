"""The workload behind ``actors demo``: a few task workers showing the main features.

Module level, so the pool's child processes can import the functions.
"""

from __future__ import annotations

import time
from typing import Any

from .models import Task
from .retry import Retry
from .workers import TaskWorker

__all__ = ["DEMO_WORKERS"]


def add(ctx: Any, options: dict[str, Any], task: Task) -> int:
    """Adds two ints; the run order shows the priorities."""
    ctx.progress(100)
    return int(options["a"]) + int(options["b"])


def flaky(ctx: Any, options: dict[str, Any], task: Task) -> dict[str, Any]:
    """Fails on its first two attempts, then succeeds."""
    if ctx.attempt < 3:
        raise ConnectionError(f"upstream unavailable (attempt {ctx.attempt})")
    return {"synced": 42, "attempt": ctx.attempt}


def slow(ctx: Any, options: dict[str, Any], task: Task) -> str:
    """Sleeps longer than its timeout: the process is killed and the attempt fails."""
    time.sleep(float(options.get("seconds", 30)))
    return "never"


def heartbeat(ctx: Any, options: dict[str, Any], task: Task) -> dict[str, Any]:
    """A recurring task."""
    ctx.log.info("beat at %.3f", time.time())
    return {"beat": task.attempts}


def delayed(ctx: Any, options: dict[str, Any], task: Task) -> str:
    """Runs once its delay has passed."""
    return "ran after its delay"


DEMO_WORKERS = [
    TaskWorker("ADD", add),
    TaskWorker("SYNC_FLAKY", flaky, retry=Retry(max_attempts=3, min_delay=0.2, jitter=False)),
    TaskWorker("SLOW", slow, timeout=1.0),
    TaskWorker("HEARTBEAT", heartbeat),
    TaskWorker("DELAYED", delayed),
]
