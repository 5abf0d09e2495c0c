"""Task functions for the iteration and step integration tests (module level: child processes
import them)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import actors


def record_call(path: str) -> dict[str, int]:
    """The step's function: one line per call in ``path``."""
    with open(path, "a") as out:
        out.write(f"called in {os.getpid()}\n")
    return {"calls": len(Path(path).read_text().splitlines())}


def step_then_exit(ctx: Any, options: dict[str, Any], task: Any) -> Any:
    """A durable step, then ``os._exit`` on the first attempt: the child dies after the step."""
    value = ctx.step("call", record_call, options["calls"])
    if ctx.attempt == 1:
        os._exit(3)
    return {"step": value, "attempt": ctx.attempt}


def step_then_raise(ctx: Any, options: dict[str, Any], task: Any) -> Any:
    """A durable step, then an exception on the first attempt (the worker retries)."""
    value = ctx.step("call", record_call, options["calls"])
    if ctx.attempt == 1:
        raise ConnectionError("lost after the step")
    return {"step": value, "attempt": ctx.attempt}


def walk(ctx: Any, options: dict[str, Any], task: Any) -> Any:
    """Walk ``cursor`` to ``end``, one iteration each, logging ``iteration cursor`` to ``log``;
    iteration ``pause_at`` leaves ``marker`` and continues ``pause`` seconds later."""
    with open(options["log"], "a") as out:
        out.write(f"{ctx.iteration} {options['cursor']}\n")
    if options["cursor"] >= options["end"]:
        return {"cursor": options["cursor"], "iteration": ctx.iteration}
    delay = 0.0
    if ctx.iteration == options["pause_at"]:
        Path(options["marker"]).write_text(str(os.getpid()))
        delay = options["pause"]
    return actors.Continue(options={**options, "cursor": options["cursor"] + 1}, delay=delay)
