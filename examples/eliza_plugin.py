"""An ElizaOS-style plugin on actors: the seed's "Background Tasks" page and its batch queue.

The plugin registers its task workers in ``init(runtime)`` (the runtime is the
``Supervisor``); an action creates one-time tasks with a room and tags; a recurring
task runs every ``metadata.updateInterval`` ms; ``validate`` refuses bad input before
anything is stored; a long task reports progress; one pipeline step creates the next
(chained tasks); embeddings are batched by a ``BatchQueue``, and prompt-batcher drains
share one worker name per affinity key (``AffinityDrains``).

    python examples/eliza_plugin.py
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import Any

import actors
from actors.testing import eventually

ROOM = "room-7f3a"


# --- the task workers (the seed's TaskWorker objects) ------------------------------------------

def sync_external_data(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
    """SYNC_EXTERNAL_DATA: fetch records in batches, report progress as it goes."""
    records = [f"user-{i}" for i in range(int(options.get("records", 120)))]
    batch_size = int(options.get("batchSize", 50))
    for done in range(0, len(records), batch_size):
        ctx.progress(round(100 * min(done + batch_size, len(records)) / len(records)))
    ctx.log.info("synced %d records from %s", len(records), options["sourceUrl"])
    return {"synced": len(records)}


def sync_is_valid(ctx: actors.ValidateContext, options: dict[str, Any]) -> bool:
    """Refuse a sync task without a source, before it is stored (the seed's ``validate``)."""
    return str(options.get("sourceUrl", "")).startswith("https://")


def health_check(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
    """HEALTH_CHECK: a recurring task (metadata.updateInterval, in ms)."""
    return {"ok": True, "run": task.attempts}


def pipeline_step_1(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    """PIPELINE_STEP_1: does its part, then creates the next step in the same room with the same tags."""
    return str(ctx.create_task("PIPELINE_STEP_2", description="Continue pipeline", room_id=task.room_id,
                               tags=list(task.tags),
                               metadata={"previousResult": 21, "pipelineId": options["pipelineId"]}))


def pipeline_step_2(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["previousResult"]) * 2


class SyncPlugin:
    """The seed's ``Plugin``: a name, and ``init(runtime)`` that registers the workers."""

    name = "my-sync-plugin"

    def init(self, runtime: actors.Supervisor) -> None:
        runtime.register_task_worker(actors.TaskWorker("SYNC_EXTERNAL_DATA", sync_external_data,
                                                       validate=sync_is_valid))
        runtime.register_task_worker(actors.TaskWorker("HEALTH_CHECK", health_check))
        runtime.register_task_worker(actors.TaskWorker("PIPELINE_STEP_1", pipeline_step_1))
        runtime.register_task_worker(actors.TaskWorker("PIPELINE_STEP_2", pipeline_step_2))


# --- the batch queue (seed 001): embeddings and per-affinity prompt drains ---------------------

def embed(text: str) -> list[float]:
    """A stand-in for one model call."""
    return [float(len(text)), float(sum(map(ord, text)) % 101)]


def run_batch_queue(runtime: actors.Supervisor) -> None:
    vectors: dict[str, list[float]] = {}
    lock = threading.Lock()

    def process(text: str) -> None:  # BatchProcessor runs each item, at most max_parallel at once
        vector = embed(text)
        with lock:
            vectors[text] = vector

    embeddings: actors.BatchQueue[str] = actors.BatchQueue("EMBEDDING_DRAIN", process, batch_size=8,
                                                           drain_interval=0.05, max_parallel=4)
    embeddings.start(runtime)
    for i in range(20):
        embeddings.enqueue(f"memory {i}")
    eventually(lambda: len(vectors) == 20, timeout=30)
    left = embeddings.dispose()
    print(f"embedding queue: {len(vectors)} memories embedded, {len(left)} handed back on dispose")

    prompts = {room: [f"{room}-prompt-{i}" for i in range(4)] for room in ("room-a", "room-b")}
    answered: dict[str, int] = dict.fromkeys(prompts, 0)

    def drain_for(room: str) -> Any:
        def drain(sup: actors.Supervisor) -> int:
            with lock:
                batch, prompts[room] = prompts[room][:2], prompts[room][2:]
                answered[room] += len(batch)
            return len(batch)

        return drain

    drains = actors.AffinityDrains("BATCHER_DRAIN")
    drains.start(runtime)
    for room in prompts:
        drains.add(room, drain_for(room), interval=0.05)
    rows = runtime.get_tasks(name="BATCHER_DRAIN")
    eventually(lambda: not any(prompts.values()), timeout=30)
    for room in list(prompts):
        drains.remove(room)
    print(f"affinity drains: {len(rows)} rows share BATCHER_DRAIN; answered {answered}; "
          f"{len(runtime.get_tasks(name='BATCHER_DRAIN'))} rows left")


def main() -> None:
    path = os.path.join(tempfile.mkdtemp(prefix="actors-example-"), "tasks.db")
    with actors.Supervisor.start(path, workers=2) as runtime:
        SyncPlugin().init(runtime)

        # an action handler creates a one-time task (the seed's runtime.createTask)
        sync_id = runtime.create_task("SYNC_EXTERNAL_DATA", description="Sync user data from CRM",
                                      room_id=ROOM, tags=["sync", "crm"],
                                      metadata={"sourceUrl": "https://api.crm.com/users", "batchSize": 50})
        try:
            runtime.create_task("SYNC_EXTERNAL_DATA", metadata={"sourceUrl": "ftp://nowhere"})
        except actors.ValidationError as refused:
            print(f"validate refused a task: {refused}")
        print(f"sync result: {runtime.wait(sync_id, timeout=30)}, "
              f"progress {runtime.get_task(sync_id).progress}")  # type: ignore[union-attr]

        # a recurring task: every 200 ms, the seed's metadata.updateInterval
        check_id = runtime.create_task("HEALTH_CHECK", description="Ping external service", room_id=ROOM,
                                       tags=["scheduled", "monitoring"],
                                       metadata={"updateInterval": 200, "serviceUrl": "https://api.example.com"})
        eventually(lambda: runtime.get_task(check_id).attempts >= 3, timeout=30)  # type: ignore[union-attr]
        runtime.delete_task(check_id)  # the seed's "stop a recurring task"
        print("recurring HEALTH_CHECK ran 3 times, then was deleted")

        # chained tasks: step 1 creates step 2 in the same room
        step_1 = runtime.create_task("PIPELINE_STEP_1", room_id=ROOM, tags=["pipeline"],
                                     metadata={"pipelineId": "p-1"})
        step_2 = runtime.wait(step_1, timeout=30)
        print(f"pipeline: step 2 in {runtime.get_task(step_2).room_id} "  # type: ignore[union-attr]
              f"returned {runtime.wait(step_2, timeout=30)}")

        in_room = sorted(task.name for task in runtime.get_tasks(room_id=ROOM))
        print(f"tasks in {ROOM}: {in_room}; tagged sync: {len(runtime.get_tasks(tags=['sync']))}")

        run_batch_queue(runtime)


if __name__ == "__main__":
    main()
