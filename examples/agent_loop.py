"""An asyncio agent that embeds a supervisor: the agent's event loop creates tasks, awaits
them and follows their events, while thread-isolated workers use the agent's in-process state.

ElizaOS runs its task workers inside the agent runtime (they call the runtime's services); here
the "runtime" is the ``Agent`` object, and ``isolation="thread"`` runs its workers in the
supervisor's process so they can use it. Nothing blocks the event loop: every call on
``sup`` is awaited (``actors.AsyncSupervisor``).

Run: ``python examples/agent_loop.py``
"""

from __future__ import annotations

import asyncio
import collections
import tempfile
import threading
from pathlib import Path
from typing import Any

import actors


class Agent:
    """The agent's in-process state: what its workers remember (shared, so thread isolation)."""

    def __init__(self) -> None:
        self.memory: list[str] = []
        self._lock = threading.Lock()

    def remember(self, text: str) -> None:
        with self._lock:
            self.memory.append(text)


agent = Agent()


@actors.worker("SUMMARIZE", isolation="thread", retry=actors.Retry(max_attempts=2, min_delay=0.1))
def summarize(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, str]:
    text = options["text"]
    ctx.progress(50)
    # --- durable steps -------------------------------------------------------------------
    # With durable steps (branch ``iter``: ``ctx.step(key, fn, *args)``), a costly call made
    # here (a model call) would run once per task and be stored, so a retry after a crash
    # returns the stored value instead of calling it again:
    #     summary = ctx.step("summary", first_sentence, text)
    summary = first_sentence(text)
    # ---------------------------------------------------------------------------------------
    agent.remember(summary)
    return {"summary": summary}


def first_sentence(text: str) -> str:
    return text.split(".")[0].strip() + "."


DOCUMENTS = [
    "Actors are small. They share nothing and speak in messages.",
    "Supervisors restart what fails. Nothing is lost.",
    "The event loop never waits. Every call is awaited.",
]


async def main(store: Path) -> None:
    async with actors.AsyncSupervisor.start(store, workers=1, thread_workers=2) as sup:
        await sup.register_task_worker(summarize)
        counts: collections.Counter[str] = collections.Counter()
        all_done = asyncio.Event()

        async def follow() -> None:  # the agent's view of its tasks, as they happen
            async for event in sup.events(kinds=["created", "started", "succeeded", "failed"]):
                counts[event.kind] += 1
                if counts["succeeded"] == len(DOCUMENTS):
                    all_done.set()
                    return

        follower = asyncio.create_task(follow())
        await asyncio.sleep(0)  # (the follower subscribes on its first step)
        ids = [await sup.create_task("SUMMARIZE", metadata={"text": text}, tags=["agent"]) for text in DOCUMENTS]
        results = await asyncio.gather(*(sup.wait(task_id, timeout=30) for task_id in ids))
        await asyncio.wait_for(all_done.wait(), 10)
        await follower
        print("summaries:", [result["summary"] for result in results])
        print("agent memory:", sorted(agent.memory))
        print("events:", ", ".join(f"{kind} x{counts[kind]}" for kind in ("created", "started", "succeeded")))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp) / "agent.db"))
