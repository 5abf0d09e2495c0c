"""A Webiny-style long task: an export that walks a cursor over 40 records, at most 10 per run,
and hands over to its next iteration with ``actors.Continue`` (Webiny's ``response.continue``)
before its time runs out. The page it works on is fetched in a durable step (``ctx.step``):
if the process dies mid-page, the retry works on the same page without fetching it again.
A second export, capped by ``max_iterations``, shows the limit failing the task.

    python examples/webiny_long_task.py
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import actors

RECORDS = [f"record-{n:02d}" for n in range(40)]
PAGE = 10


def fetch_page(cursor: int, size: int) -> list[str]:
    """The expensive call (a database page, an API): its result is kept as a durable step."""
    return RECORDS[cursor:cursor + size]


def export(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
    cursor = options.get("cursor", 0)
    page = ctx.step("page", fetch_page, cursor, PAGE)
    done = options.get("done", 0)
    for _record in page:
        if ctx.is_close_to_timeout():  # Webiny's isCloseToTimeout(): stop while there is time
            break
        cursor += 1
        done += 1
    ctx.log.info("iteration %d exported up to %d", ctx.iteration, cursor)
    if cursor < len(RECORDS):
        return actors.Continue(options={**options, "cursor": cursor, "done": done})
    return {"exported": done, "iterations": ctx.iteration}


def main() -> None:
    path = os.path.join(tempfile.mkdtemp(), "tasks.db")
    with actors.Supervisor.start(path, workers=1) as sup:
        sup.register_task_worker(actors.TaskWorker("EXPORT", export, timeout=60, max_iterations=20))
        task_id = sup.create_task("EXPORT")
        result = sup.wait(task_id, timeout=60)
        print(f"exported {result['exported']} records in {result['iterations']} iterations")
        print("logs of iteration 2:", [record.message for record in sup.logs(task_id, iteration=2)])
        capped = sup.create_task("EXPORT", max_iterations=2)
        try:
            sup.wait(capped, timeout=60)
        except actors.TaskFailed as exc:
            print("capped export failed:", exc)


if __name__ == "__main__":
    main()
