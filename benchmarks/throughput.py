"""Throughput of actors alone: N no-op tasks created in bulk, run by W worker processes.

Completions are durable (recorded in the SQLite file, WAL, synchronous=NORMAL by
default). Prints the bulk-enqueue rate and the end-to-end rate (first create →
last completion recorded), and checks that every task succeeded exactly once.
The run itself is ``actors.bench`` (also behind ``actors bench``, with a progress bar).

    python benchmarks/throughput.py --n 10000 --workers 2
    python benchmarks/throughput.py --n 10000 --workers 2 --dispatch actor   # the queue actor on the path
    python benchmarks/throughput.py --n 10000 --workers 2 --subscribe        # a subscriber to every event
"""

from __future__ import annotations

import argparse
import os
import sys

from actors.bench import report_lines, run_throughput


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
    run = run_throughput(args.n, workers=args.workers, max_batch=args.max_batch, synchronous=args.synchronous,
                         store=args.store, subscribe=args.subscribe)
    print("\n".join(report_lines(run)))
    return 0 if run.verified else 1


if __name__ == "__main__":
    sys.exit(main())
