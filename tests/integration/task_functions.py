"""Task functions for executor tests, at module level so ``spawn`` children can import them.

Each is ``execute(ctx, options, task)``; ``options`` is the task's metadata.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

#: Released by thread-executor tests to let ``block`` return (same process only).
RELEASE = threading.Event()


def noop(ctx: Any, options: dict[str, Any], task: Any) -> None:
    return None


def echo(ctx: Any, options: dict[str, Any], task: Any) -> Any:
    return {"options": options, "attempt": ctx.attempt, "name": task.name}


def whoami(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    return {"pid": os.getpid(), "thread": threading.current_thread().name}


async def async_whoami(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"async": True, "pid": os.getpid()}


def boom(ctx: Any, options: dict[str, Any], task: Any) -> None:
    raise ValueError(f"boom: {options.get('why', 'no reason')}")


def not_json(ctx: Any, options: dict[str, Any], task: Any) -> Any:
    return {"when": object()}


def next_interval(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    return {"nextInterval": 1500, "checked": True}


def chatty(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    """Every kind of event, in a known order."""
    ctx.progress(10)
    ctx.set_metadata(step=1)
    ctx.log.info("step %d of %s", 1, "chatty")
    child = ctx.create_task("CHILD", metadata={"parent": task.id}, delay=timedelta(seconds=5), tags=["a"])
    ctx.progress(100)
    return {"child": child, "metadata": ctx.task.metadata}


def chain(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    """``ctx.create_task("CHILD", metadata=options)``: the id, or what it raised."""
    try:
        return {"id": ctx.create_task("CHILD", metadata=options)}
    except Exception as exc:
        return {"type": type(exc).__name__, "field": getattr(exc, "field", None), "message": str(exc)}


def modules(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    return {"pykka": "pykka" in sys.modules, "psutil": "psutil" in sys.modules}


def threads(ctx: Any, options: dict[str, Any], task: Any) -> list[str]:
    """The names of the child's threads while it runs this task."""
    return sorted(thread.name for thread in threading.enumerate())


def exit3(ctx: Any, options: dict[str, Any], task: Any) -> None:
    os._exit(3)


def sleeper(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    """Report progress, then sleep (ignoring aborts) for ``options["seconds"]``."""
    ctx.progress(1)
    time.sleep(float(options.get("seconds", 60)))
    return {"slept": True}


def grandchild_sleeper(ctx: Any, options: dict[str, Any], task: Any) -> None:
    """Start ``sleep 60`` as a grandchild, report its pid, and sleep too."""
    proc = subprocess.Popen(["sleep", "60"])
    ctx.set_metadata(grandchild=proc.pid, child=os.getpid())
    time.sleep(60)


def cooperative(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    """Report progress, then wait until aborted (at most 60 s)."""
    ctx.progress(1)
    deadline = time.monotonic() + 60
    while not ctx.is_aborted() and time.monotonic() < deadline:
        time.sleep(0.01)
    ctx.progress(99)  # after an abort: must never be reported after the JobDone
    return {"aborted": ctx.is_aborted(), "pid": os.getpid()}


def timing(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    return {"remaining": ctx.remaining_seconds(), "close": ctx.is_close_to_timeout(3600)}


def block(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    """Report progress, then wait for ``RELEASE`` (ignores aborts; thread tests only)."""
    ctx.progress(1)
    RELEASE.wait(60)
    return {"released": True}
