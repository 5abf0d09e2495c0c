"""Task functions for the runtime's integration tests (module level: child processes import them)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import Any


def add(ctx: Any, options: dict[str, Any], task: Any) -> int:
    return int(options["a"]) + int(options["b"])


def record_order(ctx: Any, options: dict[str, Any], task: Any) -> str:
    with open(options["path"], "a") as out:
        out.write(options["label"] + "\n")
    return str(options["label"])


def once_then_hang(ctx: Any, options: dict[str, Any], task: Any) -> str:
    """First attempt: leave a marker with the pid and hang; later attempts: succeed."""
    marker = Path(options["marker"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(120)
    with open(options["log"], "a") as out:
        out.write(f"completed {task.id}\n")
    return "done"


def exit_hard_first(ctx: Any, options: dict[str, Any], task: Any) -> int:
    """os._exit on the first attempt: the child dies under the task."""
    if ctx.attempt == 1:
        os._exit(3)
    return os.getpid()


def always_exit(ctx: Any, options: dict[str, Any], task: Any) -> None:
    os._exit(5)


def sleep_with_grandchild(ctx: Any, options: dict[str, Any], task: Any) -> str:
    """Spawns a grandchild, records both pids, then sleeps past any timeout."""
    grandchild = subprocess.Popen(["sleep", "120"])
    Path(options["pids"]).write_text(f"{os.getpid()} {grandchild.pid}")
    time.sleep(120)
    return "never"


def cooperative(ctx: Any, options: dict[str, Any], task: Any) -> str:
    Path(options["started"]).write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ctx.is_aborted():
            return "aborted"
        time.sleep(0.01)
    return "finished"


def hang(ctx: Any, options: dict[str, Any], task: Any) -> str:
    Path(options["started"]).write_text(str(os.getpid()))
    time.sleep(120)
    return "never"


async def async_add(ctx: Any, options: dict[str, Any], task: Any) -> int:
    await asyncio.sleep(0)
    return int(options["a"]) + int(options["b"])


def chain_and_look(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    """Chain a ``CHILD`` task, then look it up in the SQLite file at once (from this process)."""
    from actors.storage.sqlite import SQLiteStore

    child_id = ctx.create_task("CHILD", metadata={"from": task.id})
    store = SQLiteStore(options["db"])
    try:
        stored = store.get(child_id)
    finally:
        store.close()
    return {"child": child_id, "stored": stored is not None, "pid": os.getpid()}


def chain_refused(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    """Chain a ``STRICT`` task its worker's validate refuses; report what was raised here."""
    from actors import ValidationError

    try:
        ctx.create_task("STRICT", metadata={"subject": "no recipient"})
    except ValidationError as exc:
        return {"type": type(exc).__name__, "field": exc.field, "message": str(exc)}
    return {"type": None}


def chain_refused_uncaught(ctx: Any, options: dict[str, Any], task: Any) -> str:
    return str(ctx.create_task("STRICT"))


def needs_recipient(ctx: Any, options: dict[str, Any]) -> bool:
    return "to" in options


def add_from(ctx: Any, options: dict[str, Any], task: Any) -> str:
    return str(options["from"])


def sqlite_utils_loaded(ctx: Any, options: dict[str, Any], task: Any) -> bool:
    """Whether this (child) process has imported sqlite-utils."""
    import sys

    return "sqlite_utils" in sys.modules


def fails_until_file(ctx: Any, options: dict[str, Any], task: Any) -> int:
    """Raises until the file ``options["path"]`` exists, then returns the attempt number (retry_task)."""
    from pathlib import Path

    if not Path(options["path"]).exists():
        raise RuntimeError("the file is not there yet")
    return int(ctx.attempt)
