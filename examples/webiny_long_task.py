"""A Webiny-style long task: an export that walks a cursor over 40 records, at most 10 per run,
and hands over to its next iteration with ``actors.Continue`` (Webiny's ``response.continue``)
before its time runs out. The page it works on is fetched in a durable step (``ctx.step``):
if the process dies mid-page, the retry works on the same page without fetching it again.
A second export, capped by ``max_iterations``, shows the limit failing the task.

The definition also has what Webiny's ``createTaskDefinition`` gives a task:

- an input schema (``schema=``, Webiny's ``createInputValidation``): a plain callable here, so
  the example needs no pydantic; a bad input is refused at create with a ``ValidationError``
  naming the field, and nothing is stored;
- ``on_abort`` (Webiny's ``onAbort``): a third, slow export is cancelled while it runs; the
  running attempt sees ``ctx.is_aborted()`` (Webiny's ``isAborted()``), stops, and ``on_abort``
  runs in the pool child, writing a task log line that ``main`` prints.

    python examples/webiny_long_task.py
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import actors

RECORDS = [f"record-{n:02d}" for n in range(40)]
PAGE = 10


def export_input(options: dict[str, Any]) -> dict[str, Any]:
    """The input schema: ``cursor`` a record index (default 0), ``delay`` seconds per record.

    Raises:
        actors.ValidationError: a bad field, named with its value (nothing is stored).
    """
    cursor = options.get("cursor", 0)
    if isinstance(cursor, bool) or not isinstance(cursor, int) or not 0 <= cursor <= len(RECORDS):
        raise actors.ValidationError("cursor", cursor, f"must be a record index from 0 to {len(RECORDS)}")
    delay = options.get("delay", 0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 1:
        raise actors.ValidationError("delay", delay, "must be from 0 to 1 seconds")
    return {**options, "cursor": cursor}


def fetch_page(cursor: int, size: int) -> list[str]:
    """The expensive call (a database page, an API): its result is kept as a durable step."""
    return RECORDS[cursor:cursor + size]


def export(ctx: Any, options: dict[str, Any], task: actors.Task) -> Any:
    cursor = options["cursor"]
    page = ctx.step("page", fetch_page, cursor, PAGE)
    done = options.get("done", 0)
    for _record in page:
        if ctx.is_aborted():  # Webiny's isAborted(): the task was cancelled, stop now
            return None
        if ctx.is_close_to_timeout():  # Webiny's isCloseToTimeout(): stop while there is time
            break
        time.sleep(options.get("delay", 0))  # (the slow export: time to cancel it mid-run)
        cursor += 1
        done += 1
        ctx.progress(100 * cursor / len(RECORDS))
    ctx.log.info("iteration %d exported up to %d", ctx.iteration, cursor)
    if cursor < len(RECORDS):
        return actors.Continue(options={**options, "cursor": cursor, "done": done})
    return {"exported": done, "iterations": ctx.iteration}


def export_aborted(ctx: Any, options: dict[str, Any]) -> None:
    """``on_abort``: the running task was cancelled (runs where the task ran, with its ctx)."""
    ctx.log.warning("on_abort: export cancelled in iteration %d (it started at record %d)", ctx.iteration,
                    options["cursor"])


EXPORT = actors.TaskWorker("EXPORT", export, timeout=60, max_iterations=20, schema=export_input,
                           on_abort=export_aborted, title="Export records")


def main() -> None:
    path = os.path.join(tempfile.mkdtemp(), "tasks.db")
    with actors.Supervisor.start(path, workers=1) as sup:
        sup.register_task_worker(EXPORT)
        task_id = sup.create_task("EXPORT")
        result = sup.wait(task_id, timeout=60)
        print(f"exported {result['exported']} records in {result['iterations']} iterations")
        print("logs of iteration 2:", [record.message for record in sup.logs(task_id, iteration=2)])
        capped = sup.create_task("EXPORT", max_iterations=2)
        try:
            sup.wait(capped, timeout=60)
        except actors.TaskFailed as exc:
            print("capped export failed:", exc)

        # schema: a bad input is refused at create, the field named; nothing is stored
        before = len(sup.get_tasks(name="EXPORT"))
        try:
            sup.create_task("EXPORT", metadata={"cursor": -5})
        except actors.ValidationError as exc:
            print(f"schema refused the input: {exc} (field {exc.field!r}); "
                  f"tasks stored: {len(sup.get_tasks(name='EXPORT')) - before}")

        # on_abort: cancel a slow export while it runs
        slow = sup.create_task("EXPORT", metadata={"delay": 0.2})  # 2 s a page: cancelled well inside it
        until(lambda: (getattr(sup.get_task(slow), "progress", None) or 0) > 0)  # it is mid-run
        sup.cancel_task(slow)
        try:
            sup.wait(slow, timeout=60)
        except actors.TaskCancelled:
            cancelled = sup.get_task(slow)
            print(f"slow export: {cancelled.status.value if cancelled else None}")

        def aborted_lines() -> list[str]:
            return [record.message for record in sup.logs(slow) if "on_abort" in record.message]

        until(aborted_lines)  # the child's log lines arrive just after the cancel is recorded
        print("on_abort wrote:", aborted_lines())


def until(predicate: Callable[[], object], timeout: float = 60) -> None:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


if __name__ == "__main__":
    main()
