"""The throughput benchmark's core: N no-op tasks created in bulk, run by W worker processes.

One implementation for ``benchmarks/throughput.py`` and ``actors bench``. Completions are
durable (recorded in the store; SQLite in WAL, ``synchronous=NORMAL`` by default). The run
measures the bulk-enqueue rate and the end-to-end rate (first create → last completion
recorded), and verifies that every task succeeded exactly once with the right result.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import Timeout
from .models import Task
from .workers import TaskWorker

__all__ = ["BENCH_WORKER", "Throughput", "report_lines", "run_throughput"]

#: Seconds the whole run may take before ``join`` gives up.
RUN_TIMEOUT = 600.0

#: How often (seconds) ``on_progress`` hears how many tasks are done.
PROGRESS_EVERY = 0.2


def add(ctx: Any, options: dict[str, Any], task: Task) -> int:
    """The benchmark's task: ``a + b`` (importable, so a pool child finds it by name)."""
    return int(options["a"]) + int(options["b"])


BENCH_WORKER = TaskWorker("ADD", add)


@dataclass(frozen=True)
class Throughput:
    """One run's figures (``report_lines`` prints them as the benchmark harness does)."""

    n: int
    workers: int
    max_batch: int
    synchronous: str
    store: str
    enqueue_seconds: float
    total_seconds: float
    succeeded: int
    wrong: int
    once: bool
    dispatch: dict[str, Any] = field(default_factory=dict)
    events_seen: int | None = None  # with ``subscribe``: events the counting subscriber got
    events_dropped: int | None = None  # with ``subscribe``: events the node dropped (``stats()["events"]``)

    @property
    def enqueue_rate(self) -> float:
        """Tasks created per second in the one bulk ``create_tasks``."""
        return self.n / self.enqueue_seconds if self.enqueue_seconds > 0 else float("inf")

    @property
    def end_to_end_rate(self) -> float:
        """Tasks per second from the first create to the last completion recorded."""
        return self.n / self.total_seconds if self.total_seconds > 0 else float("inf")

    @property
    def verified(self) -> bool:
        """Every task succeeded exactly once with the right result."""
        return self.succeeded == self.n and self.wrong == 0 and self.once

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON data (rates included)."""
        return {"n": self.n, "workers": self.workers, "max_batch": self.max_batch, "synchronous": self.synchronous,
                "store": self.store, "enqueue_seconds": self.enqueue_seconds, "total_seconds": self.total_seconds,
                "enqueue_rate": self.enqueue_rate, "end_to_end_rate": self.end_to_end_rate,
                "succeeded": self.succeeded, "wrong": self.wrong, "once": self.once, "verified": self.verified,
                "dispatch": self.dispatch, "events_seen": self.events_seen, "events_dropped": self.events_dropped}


def run_throughput(n: int, *, workers: int = 2, max_batch: int = 64, synchronous: str = "NORMAL",
                   store: str | None = None, subscribe: bool = False,
                   on_progress: Callable[[int], None] | None = None) -> Throughput:
    """Start a node on ``store`` (default: a new SQLite file), warm its children with one task,
    create ``n`` tasks in one ``create_tasks``, wait until they ran, and verify them.

    ``subscribe``: a counting no-op subscribed to every event (``sup.subscribe``) during the run.
    ``on_progress(done)`` (if given) hears how many of the ``n`` succeeded, about every
    ``PROGRESS_EVERY`` seconds while they run, and once at the end; without it the run
    waits with one ``join``, exactly as the benchmark harness always has.

    Raises:
        ValidationError: a bad setting (named). StoreError: the store cannot be opened.
        Timeout: the tasks did not finish within ``RUN_TIMEOUT`` seconds.
    """
    from .system import Supervisor

    path = store or os.path.join(tempfile.mkdtemp(prefix="actors-bench-"), "bench.db")
    with Supervisor.start(path, workers=workers, max_batch=max_batch, synchronous=synchronous) as sup:
        sup.register_task_worker(BENCH_WORKER)
        seen = [0]
        if subscribe:
            sup.subscribe(lambda event: seen.__setitem__(0, seen[0] + 1))
        sup.wait(sup.create_task("ADD", metadata={"a": 1, "b": 2}), timeout=60)  # children warm
        before = sup.stats()["tasks"].get("succeeded", 0)
        specs = [{"name": "ADD", "metadata": {"a": i, "b": i}} for i in range(n)]
        start = time.perf_counter()
        ids = sup.create_tasks(specs)
        enqueued = time.perf_counter()
        if on_progress is None:
            sup.join(timeout=RUN_TIMEOUT)
        else:
            _join_reporting(sup, lambda: sup.stats()["tasks"].get("succeeded", 0) - before, on_progress)
        end = time.perf_counter()
        wanted = set(ids)
        done = [t for t in sup.get_tasks(name="ADD", status="succeeded") if t.id in wanted]
        wrong = [t.id for t in done if t.result != 2 * t.metadata["a"]]
        once = all(t.attempts == 1 for t in done)
        stats = sup.stats()
        dispatch: dict[str, Any] = stats["dispatch"]
    if on_progress is not None:
        on_progress(len(done))
    return Throughput(n=n, workers=workers, max_batch=max_batch, synchronous=synchronous, store=path,
                      enqueue_seconds=enqueued - start, total_seconds=end - start, succeeded=len(done),
                      wrong=len(wrong), once=once, dispatch=dispatch,
                      events_seen=seen[0] if subscribe else None,
                      events_dropped=stats["events"]["dropped"] if subscribe else None)


def _join_reporting(sup: Any, count: Callable[[], int], on_progress: Callable[[int], None]) -> None:
    """``sup.join`` in steps of ``PROGRESS_EVERY`` seconds, reporting ``count()`` between them."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        try:
            sup.join(timeout=PROGRESS_EVERY)
            return
        except Timeout:
            if time.monotonic() > deadline:
                raise
            on_progress(count())


def report_lines(run: Throughput) -> list[str]:
    """The figures as the benchmark harness prints them (``benchmarks/throughput.py``)."""
    hops = run.dispatch.get("hops", {})
    events = [] if run.events_seen is None else [
        f"  events       : {run.events_seen} delivered to the subscriber, {run.events_dropped} dropped"]
    return [
        f"actors throughput: N={run.n} W={run.workers} max_batch={run.max_batch} synchronous={run.synchronous}",
        f"  bulk enqueue : {run.enqueue_rate:10.0f} tasks/s",
        f"  end to end   : {run.end_to_end_rate:10.0f} tasks/s ({run.total_seconds:.2f}s)",
        "  dispatch     : " + str(run.dispatch.get("mode", "?")) + ", average batch " + ", ".join(
            f"{name} {hop['average']:.1f} ({hop['messages']})" for name, hop in hops.items()),
        *events,
        f"  verified     : {run.succeeded}/{run.n} succeeded, attempts==1: {run.once}, wrong results: {run.wrong}",
    ]
