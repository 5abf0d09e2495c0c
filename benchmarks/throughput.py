"""Throughput of actors alone: N no-op tasks created in bulk, run by W worker processes.

Completions are durable (recorded in the SQLite file, WAL, synchronous=NORMAL by
default). Prints the bulk-enqueue rate and the end-to-end rate (first create →
last completion recorded), and checks that every task succeeded exactly once.

    python benchmarks/throughput.py --n 10000 --workers 2
    python benchmarks/throughput.py --n 10000 --workers 2 --dispatch actor   # the queue actor on the path
    python benchmarks/throughput.py --n 10000 --workers 2 --subscribe        # a subscriber to every event
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

import actors


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["a"]) + int(options["b"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"])
    parser.add_argument("--store", default=None, help="SQLite path (default: a temp file)")
    parser.add_argument("--dispatch", choices=["direct", "actor"], default=None,
                        help="the supervisor's dispatch (sets ACTORS_DISPATCH; default: the node's)")
    parser.add_argument("--subscribe", action="store_true",
                        help="subscribe a counting no-op to every event (sup.subscribe) during the run")
    args = parser.parse_args()
    if args.dispatch:
        os.environ["ACTORS_DISPATCH"] = args.dispatch
    path = args.store or os.path.join(tempfile.mkdtemp(prefix="actors-bench-"), "bench.db")
    with actors.Supervisor.start(
        path, workers=args.workers, max_batch=args.max_batch, synchronous=args.synchronous
    ) as sup:
        sup.register_task_worker(actors.TaskWorker("ADD", add))
        seen: list[int] = [0]
        if args.subscribe:
            sup.subscribe(lambda event: seen.__setitem__(0, seen[0] + 1))
        sup.wait(sup.create_task("ADD", metadata={"a": 1, "b": 2}), timeout=60)  # children warm
        specs = [{"name": "ADD", "metadata": {"a": i, "b": i}} for i in range(args.n)]
        start = time.perf_counter()
        ids = sup.create_tasks(specs)
        enqueued = time.perf_counter()
        sup.join(timeout=600)
        end = time.perf_counter()
        wanted = set(ids)
        done = [t for t in sup.get_tasks(name="ADD", status="succeeded") if t.id in wanted]
        wrong = [t.id for t in done if t.result != 2 * t.metadata["a"]]
        ran = {t.id for t in done} & set(ids)
        once = all(t.attempts == 1 for t in done if t.id in ran)
        stats = sup.stats()
        dispatch = stats["dispatch"]
    ok = len(ran) == args.n and not wrong and once
    print(
        f"actors throughput: N={args.n} W={args.workers} max_batch={args.max_batch} "
        f"synchronous={args.synchronous}"
    )
    print(f"  bulk enqueue : {args.n / (enqueued - start):10.0f} tasks/s")
    print(f"  end to end   : {args.n / (end - start):10.0f} tasks/s ({end - start:.2f}s)")
    print("  dispatch     : " + dispatch["mode"] + ", average batch " + ", ".join(
        f"{name} {hop['average']:.1f} ({hop['messages']})" for name, hop in dispatch["hops"].items()))
    if args.subscribe:
        print(f"  events       : {seen[0]} delivered to the subscriber, {stats['events']['dropped']} dropped")
    print(f"  verified     : {len(ran)}/{args.n} succeeded, attempts==1: {once}, wrong results: {len(wrong)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
