"""A BatchQueue batching embedding calls: items are queued in memory, a drain task in the
store wakes every 100 ms and sends up to 10 texts at once to a (fake, slow) model.

    python examples/embedding_queue.py
"""

from __future__ import annotations

import os
import tempfile
import threading
import time

import actors
from actors.batch import ItemOutcome

MODEL_CALL_SECONDS = 0.05  # one round trip to the model, whatever the batch size


def fake_embed(texts: list[str]) -> list[list[float]]:
    time.sleep(MODEL_CALL_SECONDS)
    return [[float(len(text)), float(sum(map(ord, text)) % 97)] for text in texts]


def main() -> None:
    vectors: dict[str, list[float]] = {}
    batches: list[int] = []
    done = threading.Event()
    total = 45

    def process_batch(texts: list[str]) -> list[ItemOutcome[str]]:
        batches.append(len(texts))
        for text, vector in zip(texts, fake_embed(texts), strict=True):
            vectors[text] = vector
        if len(vectors) >= total:
            done.set()
        return [ItemOutcome(text, True) for text in texts]

    queue: actors.BatchQueue[str] = actors.BatchQueue(
        "EMBEDDING_DRAIN", lambda text: vectors.setdefault(text, fake_embed([text])[0]),
        process_batch=process_batch, batch_size=10, drain_interval=0.1, max_parallel=10,
        get_priority=lambda text: "high" if text.startswith("!") else "normal")
    path = os.path.join(tempfile.mkdtemp(prefix="actors-example-"), "tasks.db")
    with actors.Supervisor.start(path, workers=1) as sup:
        queue.start(sup)  # one recurring drain task, tagged queue + repeat
        started = time.monotonic()
        for i in range(total):
            queue.enqueue(f"{'!' if i % 15 == 0 else ''}memory {i}")
        done.wait(timeout=30)
        elapsed = time.monotonic() - started
        (drain_row,) = sup.get_tasks(name="EMBEDDING_DRAIN")
        left = queue.dispose()
    print(f"embedded {len(vectors)} texts in {len(batches)} model calls {batches} in {elapsed:.2f}s")
    print(f"one call per text would have cost {total * MODEL_CALL_SECONDS:.2f}s of model time")
    print(f"drain task {drain_row.id[:8]}: tags {list(drain_row.tags)}, every {drain_row.update_interval}s; "
          f"{len(left)} item(s) handed back on dispose")


if __name__ == "__main__":
    main()
