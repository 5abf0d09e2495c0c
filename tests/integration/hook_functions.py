"""Task functions and hooks for the lifecycle tests, at module level so pool children import them.

Each hook appends ``"<name> <pid>"`` to the file ``options["path"]`` (one line per call), so a
test reads which hooks ran, in which order and in which process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pydantic


def note(options: Any, name: str) -> None:
    path = options["path"] if isinstance(options, dict) else options.path
    with Path(path).open("a") as out:
        out.write(f"{name} {os.getpid()}\n")


def init(ctx: Any, options: Any) -> int:
    note(options, "init")
    return os.getpid()


def on_start(ctx: Any, options: Any) -> None:
    note(options, "on_start")


def on_success(ctx: Any, options: Any, result: Any) -> None:
    note(options, "on_success")


def on_complete(ctx: Any, options: Any, outcome: Any) -> None:
    note(options, "on_complete")


def on_abort(ctx: Any, options: Any) -> None:
    note(options, "on_abort")


def cleanup(ctx: Any, options: Any) -> None:
    note(options, "cleanup")


def global_success(ctx: Any, options: Any, result: Any) -> None:
    note(options, "global_success")


def times_ten(ctx: Any, options: Any, call_next: Any) -> Any:
    return {"wrapped": call_next()}


def pids(ctx: Any, options: Any, task: Any) -> dict[str, int]:
    """The process that ran execute, and the one ``init`` ran in (``ctx.init``)."""
    return {"execute": os.getpid(), "init": ctx.init}


def until_aborted(ctx: Any, options: Any, task: Any) -> str:
    note(options, "running")
    deadline = time.monotonic() + 30
    while not ctx.is_aborted() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "stopped"


class Order(pydantic.BaseModel):
    path: str
    quantity: int


def model_type(ctx: Any, options: Any, task: Any) -> dict[str, Any]:
    return {"type": type(options).__name__, "quantity": options.quantity, "pid": os.getpid()}


def record_pid(ctx: Any, options: Any, *extra: Any) -> None:
    """A hook that keeps its process id in the task's metadata (``hook_pid``)."""
    ctx.set_metadata(hook_pid=os.getpid())
