"""An asyncio agent that embeds a supervisor: the agent's event loop creates tasks, awaits
them and follows their events, while thread-isolated workers use the agent's in-process state.

ElizaOS runs its task workers inside the agent runtime (they call the runtime's services); here
the "runtime" is the ``Agent`` object, and ``isolation="thread"`` runs its workers in the
supervisor's process so they can use it. Nothing blocks the event loop: every call on
``sup`` is awaited (``actors.AsyncSupervisor``).

The expensive call (the "model call") is a durable step, ``ctx.step("summary", ...)``: it runs
once per task and its JSON result is stored on the task before the step returns, so a task that
runs again after a crash gets the stored value and the model is not called again. Each real call
appends a line to a calls file, so the number of calls can be checked.

Run: ``python examples/agent_loop.py`` (three documents, summarised and followed), or the
durable mode a test drives, on a SQLite file it keeps::

    python examples/agent_loop.py --store agent.db --pause-after-step   # prints "step done: <id>"
    kill -9 <that process>               # after the step, before the task ended
    python examples/agent_loop.py --store agent.db                      # resumes: no second call

The first run creates one task, and its worker prints ``step done`` once the model call's result
is stored, then waits (``--pause-after-step``) for the kill. The second run, on the same file,
finds that task still RUNNING under the dead node's lease; once the lease expires (``lease_ttl``
1 s) the task runs again, its step returns the stored summary, and it completes.
"""

from __future__ import annotations

import argparse
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
        self.pause_after_step = False  # durable mode: hold the task after its step (to be killed)
        self.resume = threading.Event()  # (never set: a paused worker waits for the kill, at most a minute)

    def remember(self, text: str) -> None:
        with self._lock:
            self.memory.append(text)


agent = Agent()


@actors.worker("SUMMARIZE", isolation="thread", retry=actors.Retry(max_attempts=2, min_delay=0.1))
def summarize(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, str]:
    text = options["text"]
    ctx.progress(50)
    # a durable step: the model is called once per task, whatever happens to the process later
    summary: str = ctx.step("summary", model_call, text, options["calls"])
    if agent.pause_after_step:
        print(f"step done: {task.id}", flush=True)
        agent.resume.wait(60)  # the test kills the agent here: the step is stored, the task is not done
    agent.remember(summary)
    return {"summary": summary}


def model_call(text: str, calls: str) -> str:
    """The expensive call (a language model): each real call appends a line to ``calls``."""
    with open(calls, "a", encoding="utf-8") as counted:
        counted.write(f"{text}\n")
    return text.split(".")[0].strip() + "."


def model_calls(calls: Path) -> int:
    """How many real model calls were made (lines in the calls file)."""
    return len(calls.read_text(encoding="utf-8").splitlines()) if calls.exists() else 0


DOCUMENTS = [
    "Actors are small. They share nothing and speak in messages.",
    "Supervisors restart what fails. Nothing is lost.",
    "The event loop never waits. Every call is awaited.",
]


async def main(store: Path) -> None:
    calls = store.with_suffix(".calls")
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
        ids = [await sup.create_task("SUMMARIZE", metadata={"text": text, "calls": str(calls)}, tags=["agent"])
               for text in DOCUMENTS]
        results = await asyncio.gather(*(sup.wait(task_id, timeout=30) for task_id in ids))
        await asyncio.wait_for(all_done.wait(), 10)
        await follower
        print("summaries:", [result["summary"] for result in results])
        print("agent memory:", sorted(agent.memory))
        print("events:", ", ".join(f"{kind} x{counts[kind]}" for kind in ("created", "started", "succeeded")))
        print(f"model calls: {model_calls(calls)}")


async def durable(store: Path) -> None:
    """The durable mode: create the agent's one task, or resume it after a kill of this process."""
    calls = store.with_suffix(".calls")
    async with actors.AsyncSupervisor.start(store, workers=1, thread_workers=2, lease_ttl=1.0) as sup:
        await sup.register_task_worker(summarize)
        found = await sup.get_tasks(name="SUMMARIZE", tags=["durable"])
        if found:
            task_id = found[0].id
            print(f"resumed task {task_id}: it was {found[0].status.value}, steps stored {sorted(found[0].steps)}")
        else:
            task_id = await sup.create_task("SUMMARIZE", metadata={"text": DOCUMENTS[1], "calls": str(calls)},
                                            tags=["durable"])
            print(f"created task {task_id}", flush=True)
        result = await sup.wait(task_id, timeout=60)
        task = await sup.get_task(task_id)
        print(f"result: {result['summary']}")
        print(f"task {task.status.value} on attempt {task.attempts} after {task.crash_count} crash(es)")
        print(f"model calls: {model_calls(calls)}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--store", type=Path, help="durable mode: the SQLite file to create or resume")
    parser.add_argument("--pause-after-step", action="store_true",
                        help="durable mode: hold the task after its step is stored (then kill -9 this process)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse()
    if args.store is not None:
        agent.pause_after_step = args.pause_after_step
        asyncio.run(durable(args.store))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(Path(tmp) / "agent.db"))
