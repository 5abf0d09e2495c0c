"""Task functions of the trigger-and-wait integration tests (importable by a pool child)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import actors


def double(ctx: Any, options: dict[str, Any], task: Any) -> int:
    return int(options["n"]) * 2


def broken(ctx: Any, options: dict[str, Any], task: Any) -> None:
    raise RuntimeError("child broke")


def fan_out(ctx: Any, options: dict[str, Any], task: Any) -> dict[str, Any]:
    """Three children one after another with ``trigger_and_wait``; the pid that ran this run."""
    results = [ctx.trigger_and_wait("DOUBLE", metadata={"n": n}) for n in (1, 2, 3)]
    return {"results": results, "pid": os.getpid()}


def fan_out_batch(ctx: Any, options: dict[str, Any], task: Any) -> list[list[Any]]:
    """Two good children and a broken one at once with ``batch_trigger_and_wait``."""
    runs = ctx.batch_trigger_and_wait([{"name": "DOUBLE", "metadata": {"n": 10}}, {"name": "BROKEN"},
                                       {"name": "DOUBLE", "metadata": {"n": 20}, "queue": options.get("queue")}])
    return [[run.ok, run.output, run.error] for run in runs]


def catch_failed_child(ctx: Any, options: dict[str, Any], task: Any) -> str:
    try:
        ctx.trigger_and_wait("BROKEN")
    except actors.TaskFailed as exc:
        return f"TaskFailed: {exc.error}"
    return "no error"


def trigger_then_die(ctx: Any, options: dict[str, Any], task: Any) -> list[str]:
    """Trigger three children, note their ids in ``options["log"]``, and on the first attempt
    die with ``os._exit`` before waiting; the next attempt waits on them and returns their ids."""
    made = [ctx.trigger("DOUBLE", metadata={"n": 1}),
            *ctx.batch_trigger([{"name": "DOUBLE", "metadata": {"n": 2}}, {"name": "DOUBLE", "metadata": {"n": 3}}])]
    with Path(options["log"]).open("a") as log:
        log.write(json.dumps({"attempt": ctx.attempt, "children": made}) + "\n")
    if ctx.attempt == 1:
        os._exit(3)
    for child in made:
        ctx.wait(child)
    return made


def wait_on(ctx: Any, options: dict[str, Any], task: Any) -> Any:
    """Wait on the task ``options["other"]`` (with ``options.get("timeout")``)."""
    try:
        return ctx.wait(options["other"], timeout=options.get("timeout"))
    except actors.Timeout as exc:
        return f"Timeout: {exc}"
