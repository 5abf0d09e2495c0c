"""Three affinity keys, ONE registered worker name: every key gets its own recurring drain
row (all named BATCHER_DRAIN) and its own drain actor; the worker routes each run by
``metadata.affinity_key``, and one key never drains twice at once.

    python examples/affinity_drains.py
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import defaultdict

import actors


def main() -> None:
    pending: dict[str, list[str]] = {key: [f"{key}-prompt-{i}" for i in range(6)]
                                     for key in ("room-a", "room-b", "room-c")}
    answered: dict[str, list[list[str]]] = defaultdict(list)
    lock = threading.Lock()

    def drain_for(key: str):  # type: ignore[no-untyped-def]
        def drain(sup: actors.Supervisor) -> int:
            with lock:
                batch, pending[key] = pending[key][:2], pending[key][2:]
            if batch:
                time.sleep(0.02)  # one batched model call for the key
                answered[key].append(batch)
            return len(batch)

        return drain

    path = os.path.join(tempfile.mkdtemp(prefix="actors-example-"), "tasks.db")
    with actors.Supervisor.start(path, workers=1) as sup:
        drains = actors.AffinityDrains("BATCHER_DRAIN", max_interval=30.0)
        drains.start(sup)
        for key in pending:
            drains.add(key, drain_for(key), interval=0.1)
        rows = sup.get_tasks(name="BATCHER_DRAIN")
        print(f"{len(rows)} drain rows share the worker name BATCHER_DRAIN: "
              f"{sorted(r.metadata['affinity_key'] for r in rows)}")
        deadline = time.monotonic() + 20
        while any(pending.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for key in list(pending):
            drains.remove(key)  # the last user of a key: its row is deleted
        left = sup.get_tasks(name="BATCHER_DRAIN")
    for key, batches in sorted(answered.items()):
        print(f"{key}: {len(batches)} drain runs, batches {batches}")
    print(f"after removing every key: {len(left)} drain rows left")


if __name__ == "__main__":
    main()
