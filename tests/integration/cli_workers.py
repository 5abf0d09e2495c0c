"""Workers for the `actors worker` CLI test (importable by the CLI and its children)."""

from __future__ import annotations

from typing import Any

import actors


def double(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return 2 * int(options["x"])


DOUBLE = actors.TaskWorker("DOUBLE", double)
