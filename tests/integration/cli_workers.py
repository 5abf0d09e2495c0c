"""Workers for the `actors worker` CLI test (importable by the CLI and its children)."""

from __future__ import annotations

from typing import Any

import actors


def double(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return 2 * int(options["x"])


DOUBLE = actors.TaskWorker("DOUBLE", double)


def refuse(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
    raise RuntimeError(f"refused {options.get('why', 'always')}")


def note(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    ctx.log.info("first [step] done")
    ctx.progress(50)
    ctx.log.warning("second step skipped")
    return "noted"


#: Fails on its one attempt (no retry policy).
REFUSE = actors.TaskWorker("REFUSE", refuse)
#: Logs two lines and reports 50% progress.
NOTE = actors.TaskWorker("NOTE", note)
