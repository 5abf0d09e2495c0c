"""The asyncio view never blocks the event loop: a ticker coroutine records the loop's longest
stall while hundreds of creates and waits run on a real node with process workers.

A gap counts as the loop's stall unless the loop's thread spent most of it waiting for a CPU
(its run-queue wait in ``/proc/thread-self/schedstat`` grew by at least half the gap): that is
the machine's scheduler (other programs on the 2 shared cores), not ours, and is reported but not
held against the loop. A call blocking the loop (sleeping, waiting on a lock or a future) or the
node's own threads holding the GIL leave the thread off the run queue, so they count."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import actors
from tests.integration import task_functions

ROOT = Path(__file__).resolve().parents[2]

#: The ticker's period (seconds); a stall is how much later than this a tick came.
PERIOD = 0.005
TASKS = 300
#: The longest stall allowed (seconds).
LIMIT = 0.050


def _runqueue_wait() -> float:
    """Seconds this thread has waited on a run queue so far (0.0 where Linux does not say)."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


async def _ticker(stalls: list[float], descheduled: list[float], stop: asyncio.Event) -> None:
    last, waited = time.monotonic(), _runqueue_wait()
    while not stop.is_set():
        await asyncio.sleep(PERIOD)
        now, waited_now = time.monotonic(), _runqueue_wait()
        gap = now - last - PERIOD
        (descheduled if gap >= LIMIT and waited_now - waited >= 0.5 * gap else stalls).append(gap)
        last, waited = now, waited_now


async def _measure(path: Path) -> tuple[list[float], list[float], list[object]]:
    """The loop's gaps (counted, and while its thread waited for a CPU) and the tasks' results."""
    async with actors.AsyncSupervisor.start(path, workers=2) as sup:
        await sup.register_task_worker(actors.TaskWorker("ECHO", task_functions.echo))
        await sup.wait(await sup.create_task("ECHO"), timeout=60)  # the pool's children are up
        stalls: list[float] = []
        descheduled: list[float] = []
        stop = asyncio.Event()
        ticker = asyncio.create_task(_ticker(stalls, descheduled, stop))

        async def one(index: int) -> object:
            task_id = await sup.create_task("ECHO", metadata={"index": index})
            return await sup.wait(task_id, timeout=60)

        results = await asyncio.gather(*(one(index) for index in range(TASKS)))
        stop.set()
        await ticker
        return stalls, descheduled, list(results)


def main(path: str) -> None:
    """Run the measurement in this (fresh) interpreter and print it as one JSON line."""
    stalls, descheduled, results = asyncio.run(_measure(Path(path)))
    print(json.dumps({"stalls": stalls, "descheduled": descheduled,
                      "indexes": [r["options"]["index"] for r in results]}))  # type: ignore[index]


def test_hundreds_of_creates_and_waits_never_stall_the_loop_50_ms(tmp_path: Path) -> None:
    """In an interpreter of its own, so only this node shares the loop's process: in one CI run of
    the whole suite the loop stalled 300 ms on its first tick, which the test alone never showed
    (a dozen runs); the earlier tests' leftovers (threads winding down, their heap) are not ours."""
    done = subprocess.run([sys.executable, "-c", f"from {__name__} import main; main({str(tmp_path / 'tasks.db')!r})"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    stalls, descheduled = measured["stalls"], measured["descheduled"]
    assert measured["indexes"] == list(range(TASKS))
    assert len(stalls) > 10
    waited = max(descheduled, default=0.0) * 1000
    assert max(stalls) < LIMIT, (f"the loop stalled {max(stalls) * 1000:.1f} ms "
                                 f"(and {waited:.1f} ms while its thread waited for a CPU)")
