"""The claim path alone: N due tasks in a fresh SQLite file, claimed through the store in batches.

No node, no workers: ``TaskStore.claim`` called in a loop, so a change to the claim transaction
(queue limits, more columns per row) shows without the rest of the pipeline's noise. Prints the
seconds the claims took. Compare two commits by running each in turn, alternated, e.g.

    PYTHONPATH=/path/to/other/checkout python benchmarks/claim_path.py --n 20000
    python benchmarks/claim_path.py --n 20000

(run from outside the checkout, or with PYTHONPATH, so the ``actors`` under test is imported).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from actors.spec import TaskSpec, build_task
from actors.system import open_store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="tasks (default 20,000)")
    parser.add_argument("--batch", type=int, default=64, help="tasks per claim (default 64)")
    args = parser.parse_args()
    store = open_store(os.path.join(tempfile.mkdtemp(prefix="actors-claims-"), "tasks.db"))
    now = time.time()
    store.add([build_task(TaskSpec(name="A"), task_id=f"t{i}", now=now) for i in range(args.n)])
    claimed = 0
    started = time.perf_counter()
    while claimed < args.n:
        got = store.claim(["A"], args.batch, now + 1, "node", 30.0)
        if not got:
            break
        claimed += len(got)
    took = time.perf_counter() - started
    store.close()
    print(f"claimed {claimed} of {args.n} in batches of {args.batch}: {took:.3f} s "
          f"({1e6 * took / max(claimed, 1):.1f} µs per task)")
    return 0 if claimed == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
