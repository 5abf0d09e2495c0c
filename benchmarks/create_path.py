"""The create path alone: tasks created through a client-only node (no workers) on a fresh SQLite file.

``Supervisor.create_tasks`` in batches (``--batches`` of ``--batch``) and ``Supervisor.create_task`` one
by one (``--n``), each task ``{"name": "ADD", "metadata": {"i": i, "a": 1, "b": 2}}``, so a change to
the build, the row or the insert of a create (``actors.spec``, ``actors.creating``, the SQL codec,
``storage.sqlite.statements``) shows without a worker's noise. Prints µs of CPU per task (every thread
of the process: ``time.process_time``) and the tasks/s it makes, per round and the median. Compare two
commits by running each in turn, alternated, e.g.

    PYTHONPATH=/path/to/other/checkout python benchmarks/create_path.py
    python benchmarks/create_path.py

(run from outside the checkout, or with PYTHONPATH, so the ``actors`` under test is imported).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Any

import actors


def spec(i: int) -> dict[str, Any]:
    return {"name": "ADD", "metadata": {"i": i, "a": 1, "b": 2}}


def one_round(path: str, batches: int, batch: int, n: int) -> tuple[float, float]:
    """(µs per task in bulk, µs per task one by one) on a new node over a new file at ``path``."""
    with actors.Supervisor.start(path, workers=0) as node:
        node.register_task_worker(actors.TaskWorker("ADD", lambda ctx, options, task: 1))
        node.create_tasks([spec(i) for i in range(100)])  # warm: the file, the statements, the connection
        lists = [[spec(i) for i in range(batch)] for _ in range(batches)]
        started = time.process_time()
        for specs in lists:
            node.create_tasks(specs)
        bulk = (time.process_time() - started) / (batches * batch)
        started = time.process_time()
        for i in range(n):
            node.create_task("ADD", metadata={"i": i, "a": 1, "b": 2})
        single = (time.process_time() - started) / n
    return 1e6 * bulk, 1e6 * single


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=20, help="create_tasks calls per round (default 20)")
    parser.add_argument("--batch", type=int, default=1000, help="tasks per create_tasks call (default 1,000)")
    parser.add_argument("--n", type=int, default=5000, help="create_task calls per round (default 5,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each on a fresh file (default 5)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="actors-creates-")
    bulk: list[float] = []
    single: list[float] = []
    for round_no in range(args.rounds):
        b, s = one_round(os.path.join(folder, f"tasks-{round_no}.db"), args.batches, args.batch, args.n)
        bulk.append(b)
        single.append(s)
        print(f"round {round_no + 1}: bulk {b:.1f} µs per task ({1e6 / b:,.0f}/s), "
              f"one by one {s:.1f} µs per task ({1e6 / s:,.0f}/s)")
    b, s = statistics.median(bulk), statistics.median(single)
    print(f"median of {args.rounds}: bulk ({args.batches} x {args.batch}) {b:.1f} µs per task ({1e6 / b:,.0f}/s); "
          f"one by one ({args.n}) {s:.1f} µs per task ({1e6 / s:,.0f}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
