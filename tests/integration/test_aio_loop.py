"""The asyncio view never blocks the event loop: a ticker coroutine records the loop's longest
stall while hundreds of creates and waits run on a real node with process workers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import actors
from tests.integration import task_functions

#: The ticker's period (seconds); a stall is how much later than this a tick came.
PERIOD = 0.005
TASKS = 300


async def _ticker(stalls: list[float], stop: asyncio.Event) -> None:
    last = time.monotonic()
    while not stop.is_set():
        await asyncio.sleep(PERIOD)
        now = time.monotonic()
        stalls.append(now - last - PERIOD)
        last = now


def test_hundreds_of_creates_and_waits_never_stall_the_loop_50_ms(tmp_path: Path) -> None:
    async def main() -> tuple[list[float], list[object]]:
        async with actors.AsyncSupervisor.start(tmp_path / "tasks.db", workers=2) as sup:
            await sup.register_task_worker(actors.TaskWorker("ECHO", task_functions.echo))
            await sup.wait(await sup.create_task("ECHO"), timeout=60)  # the pool's children are up
            stalls: list[float] = []
            stop = asyncio.Event()
            ticker = asyncio.create_task(_ticker(stalls, stop))

            async def one(index: int) -> object:
                task_id = await sup.create_task("ECHO", metadata={"index": index})
                return await sup.wait(task_id, timeout=60)

            results = await asyncio.gather(*(one(index) for index in range(TASKS)))
            stop.set()
            await ticker
            return stalls, list(results)

    stalls, results = asyncio.run(main())
    assert [r["options"]["index"] for r in results] == list(range(TASKS))  # type: ignore[index]
    assert len(stalls) > 10
    assert max(stalls) < 0.050, f"the loop stalled {max(stalls) * 1000:.1f} ms"
