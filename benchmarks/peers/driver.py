"""Runs one phase of the workload against one system, in a fresh process.

    python -m peers.driver --system rq_simple --phase B --n 1000 --workdir /var/tmp/x

(run with ``benchmarks/`` as the working directory and on PYTHONPATH). Logs go to
stderr; the last stdout line is ``RESULT {json}``, read by ``benchmarks/run.py``.
Every worker process started here is stopped in a ``finally`` (also on SIGTERM
and Ctrl-C), and every wait has a limit.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from .common import Record, RssSampler, System

# system name -> (module, environment the module reads at import time)
SYSTEMS: dict[str, tuple[str, dict[str, str]]] = {
    "actors": ("peers.actors_sqlite", {"BENCH_ACTORS_SYNC": "NORMAL", "BENCH_ACTORS_MODE": "embedded"}),
    "actors_full": ("peers.actors_sqlite", {"BENCH_ACTORS_SYNC": "FULL", "BENCH_ACTORS_MODE": "embedded"}),
    "actors_remote": ("peers.actors_sqlite", {"BENCH_ACTORS_SYNC": "NORMAL", "BENCH_ACTORS_MODE": "remote"}),
    "actors_pg1": ("peers.actors_pg", {"BENCH_ACTORS_NODES": "1"}),
    "actors_pg2": ("peers.actors_pg", {"BENCH_ACTORS_NODES": "2"}),
    "actors_pg3": ("peers.actors_pg", {"BENCH_ACTORS_NODES": "3"}),
    "huey_sqlite": ("peers.huey_sqlite", {}),
    "huey_redis": ("peers.huey_redis", {}),
    "rq_simple": ("peers.rq_simple", {}),
    "dramatiq_redis": ("peers.dramatiq_redis", {}),
    "celery_redis": ("peers.celery_redis", {}),
    "procrastinate_pg": ("peers.procrastinate_pg", {}),
    "taskito_sqlite": ("peers.taskito_sqlite", {}),
    "dbos_sqlite": ("peers.dbos_sqlite", {}),
}
ACTORS_SYSTEMS = ("actors", "actors_full", "actors_remote", "actors_pg1", "actors_pg2", "actors_pg3")

WARMUP = 8  # tasks run (and then forgotten) so that workers are warm in B, C and E
LATENCY_RATE = 200  # tasks/s in phase C


def log(msg: str) -> None:
    print(f"[driver {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class Failed(Exception):
    """The run lost, duplicated or stalled: it is reported as failed, not fast."""


class Phase:
    def __init__(self, system: System, n: int, workers: int, quick: bool, prefill: int) -> None:
        self.system = system
        self.n = n
        self.workers = workers
        self.quick = quick
        self.prefill_rows = prefill
        self.record = Record()
        self.metrics: dict[str, float] = {}
        self.checks: dict[str, int] = {}
        self.limit = 120.0 + n / 20.0  # seconds allowed for a backlog of n

    # -- helpers -----------------------------------------------------------

    def enqueue_each(self, indices: range) -> float:
        """Enqueue one by one; returns the rate in tasks/s."""
        start = time.perf_counter()
        for i in indices:
            self.system.enqueue(i)
        return len(indices) / (time.perf_counter() - start)

    def enqueue_bulk(self, indices: range) -> float:
        start = time.perf_counter()
        self.system.enqueue_bulk(indices)
        return len(indices) / (time.perf_counter() - start)

    def wait_and_verify(self, expected: int, label: str) -> dict[int, float]:
        """Wait for all ``expected`` tasks (indices 0..expected-1); fail on loss or duplicates."""
        distinct, runs, error = self.record.wait(expected, limit=self.limit, check=self.system.check_workers)
        members = self.record.members()
        unexpected = len(members - set(range(expected)))
        lost = expected - len(members & set(range(expected)))
        duplicates = runs - distinct
        self.checks[f"{label}.lost"] = lost
        self.checks[f"{label}.duplicates"] = duplicates
        self.checks[f"{label}.unexpected"] = unexpected
        log(f"{label}: ran {distinct}/{expected}, executions {runs}, duplicates {duplicates}")
        if error or lost or duplicates or unexpected:
            raise Failed(
                f"{label}: {error or 'verification failed'} "
                f"(lost {lost}, duplicates {duplicates}, unexpected {unexpected})"
            )
        return self.record.times()

    def warm_up(self) -> None:
        """Run a few tasks (negative indices) so the workers are warm, then forget them."""
        self.system.open_producer()
        for i in range(-WARMUP, 0):
            self.system.enqueue(i)
        deadline = time.monotonic() + 120
        while self.record.counts()[0] < WARMUP:
            self.system.check_workers()
            if time.monotonic() > deadline:
                raise Failed("warm-up tasks did not run within 120 s")
            time.sleep(0.02)
        time.sleep(0.2)
        self.record.reset()

    def drain(self, label: str) -> None:
        """Start the workers on a backlog of n; first start -> last completion."""
        t0 = time.time()
        roots = self.system.start_workers(self.workers)
        with RssSampler(roots) as rss:
            times = self.wait_and_verify(self.n, label)
        last = max(times.values())
        self.metrics[f"{label}.drain_s"] = last - t0
        self.metrics[f"{label}.drain_rate"] = self.n / (last - t0)
        self.metrics[f"{label}.peak_rss_mb"] = rss.peak / 2**20

    def end_to_end(self, label: str, rss: RssSampler | None) -> None:
        """Workers warm; enqueue n as fast as possible; first enqueue -> last completion."""
        t0 = time.time()
        self.metrics[f"{label}.enqueue_rate"] = self.enqueue_each(range(self.n))
        times = self.wait_and_verify(self.n, label)
        last = max(times.values())
        self.metrics[f"{label}.e2e_s"] = last - t0
        self.metrics[f"{label}.e2e_rate"] = self.n / (last - t0)
        if rss is not None:
            self.metrics[f"{label}.peak_rss_mb"] = rss.peak / 2**20

    # -- phases --------------------------------------------------------------

    def phase_a(self) -> None:
        s = self.system
        s.reset()
        self.record.reset()
        s.open_producer()
        self.metrics["A.enqueue_rate"] = self.enqueue_each(range(self.n))
        s.close_producer()
        if s.bulk:
            s.reset()
            s.open_producer()
            self.metrics["A.enqueue_bulk_rate"] = self.enqueue_bulk(range(self.n))
            s.close_producer()
        log(f"A: enqueued {self.n}: " + ", ".join(f"{k}={v:.0f}" for k, v in self.metrics.items()))
        self.drain("A")

    def phase_b(self) -> None:
        s = self.system
        s.reset()
        self.record.reset()
        roots = s.start_workers(self.workers)
        with RssSampler(roots) as rss:
            self.warm_up()
            self.end_to_end("B", rss)

    def phase_c(self) -> None:
        s = self.system
        s.reset()
        self.record.reset()
        roots = s.start_workers(self.workers)
        with RssSampler(roots) as rss:
            self.warm_up()
            duration = 2.0 if self.quick else 10.0
            count = int(LATENCY_RATE * duration)
            enqueued: list[float] = []
            base = time.monotonic()
            for i in range(count):
                delay = base + i / LATENCY_RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                enqueued.append(time.time())
                s.enqueue(i)
            times = self.wait_and_verify(count, "C")
        latencies = [(times[i] - enqueued[i]) * 1000 for i in range(count)]
        self.metrics["C.p50_ms"] = percentile(latencies, 50)
        self.metrics["C.p99_ms"] = percentile(latencies, 99)
        self.metrics["C.max_ms"] = max(latencies)
        self.metrics["C.offered_rate"] = (count - 1) / (enqueued[-1] - enqueued[0])
        # Below the offered rate, the system fell behind: its latency is the backlog's growth.
        self.metrics["C.served_rate"] = count / (max(times.values()) - enqueued[0])
        self.metrics["C.tasks"] = count
        self.metrics["C.peak_rss_mb"] = rss.peak / 2**20

    def phase_e(self) -> None:
        s = self.system
        if not s.table:
            raise Failed(f"{s.name} keeps no task table; phase E does not apply")
        s.reset()
        self.record.reset()
        start = time.perf_counter()
        s.prefill(self.prefill_rows, self.prefill_rows)
        self.metrics["E.prefill_s"] = time.perf_counter() - start
        log(
            f"E: prefilled {self.prefill_rows} finished + {self.prefill_rows} future rows "
            f"in {self.metrics['E.prefill_s']:.1f} s"
        )
        s.open_producer()
        self.metrics["E.A.enqueue_rate"] = self.enqueue_each(range(self.n))
        s.close_producer()
        self.drain("E.A")
        # The workers are warm now: B on the same (still large) table.
        self.record.reset()
        s.open_producer()
        self.end_to_end("E.B", None)

    def run(self, phase: str) -> None:
        actions: dict[str, Callable[[], None]] = {
            "A": self.phase_a,
            "B": self.phase_b,
            "C": self.phase_c,
            "E": self.phase_e,
        }
        try:
            actions[phase]()
        finally:
            try:
                self.system.close_producer()
            finally:
                self.system.stop_workers()
                self.record.close()


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--system", required=True, choices=sorted(SYSTEMS))
    parser.add_argument("--phase", required=True, choices=["A", "B", "C", "E"])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--prefill", type=int, default=1_000_000)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
    module_name, env = SYSTEMS[args.system]
    os.environ.update(env)
    os.environ["BENCH_WORKDIR"] = args.workdir
    os.environ["BENCH_RECORD_PREFIX"] = f"bench:{os.getpid()}:{time.time_ns()}:"
    os.makedirs(args.workdir, exist_ok=True)

    result: dict[str, Any] = {"system": args.system, "phase": args.phase, "n": args.n, "ok": False}
    phase: Phase | None = None
    try:
        module = importlib.import_module(module_name)
        system: System = module.make()
        result["version"] = system.version()
        phase = Phase(system, args.n, args.workers, args.quick, args.prefill)
        log(f"{args.system} {result['version']}: phase {args.phase}, n={args.n}")
        phase.run(args.phase)
        result["ok"] = True
    except Failed as exc:
        result["error"] = str(exc)
    except BaseException as exc:  # report everything, including Ctrl-C and SIGTERM
        result["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    if phase is not None:
        result["metrics"] = phase.metrics
        result["checks"] = phase.checks
    if not result["ok"]:
        log(f"FAILED: {result.get('error')}")
    print("RESULT " + json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
