"""``actors bench``: a throughput run with a progress bar; prints the benchmark harness's figures.

The run is ``actors.bench.run_throughput`` (the same as ``benchmarks/throughput.py``). Its
store is ``--store``, else a new SQLite file in a temporary directory: never
``$ACTORS_STORE``, so a benchmark does not fill the store a user works with. Exit 1 if the
run did not verify (a task missing, run twice or with a wrong result).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..bench import report_lines, run_throughput
from . import _render as render
from ._common import FAILED, OK, command, common_options, printed_json

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``bench`` to the ``actors`` parser."""
    own = common_options("store: an SQLite path or postgresql://... (default: a new SQLite file; never $ACTORS_STORE)")
    bench = command(sub, "bench", own, run_bench, "a throughput run (N no-op tasks) with a progress bar")
    bench.add_argument("--n", type=int, default=10_000, help="tasks to run (default 10000)")
    bench.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    bench.add_argument("--max-batch", type=int, default=64, help="most jobs a worker holds at once (default 64)")
    bench.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"],
                       help="SQLite durability (default NORMAL)")
    bench.add_argument("--subscribe", action="store_true",
                       help="subscribe a counting no-op to every event during the run (its cost)")


def run_bench(args: argparse.Namespace) -> int:
    with render.progress(args.n, "tasks") as advance_to:
        run = run_throughput(args.n, workers=args.workers, max_batch=args.max_batch, synchronous=args.synchronous,
                             store=getattr(args, "store", None), subscribe=args.subscribe,
                             on_progress=advance_to)
    if not printed_json(args, run.as_dict()):
        for text in report_lines(run):
            render.line(text)
    return OK if run.verified else FAILED
