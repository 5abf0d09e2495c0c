"""Where the CPU goes per task, with tasks created one by one (the harness's phase B shape,
without the run record).

Embedded (default): a serving supervisor on a fresh SQLite file (W worker processes) in
this process, which also creates N no-op tasks one at a time from its main thread and
waits for the last. Prints the end-to-end rate, this process's CPU time per task,
split by thread (user and system time, from ``/proc/self/task/*/stat``; Linux only),
and its pool children's. ``measure_embedded`` is that measurement as a function
(``benchmarks/floors.py --stages`` sets it against each stage's floor).

``--remote``: the serving supervisor runs in another process (as ``actors worker``
would) and this one creates through a client-only supervisor (``workers=0``) on the
same file. Prints the rate and the CPU per task of the producer, the serving process
and its children.

    python benchmarks/threads.py --n 5000 --workers 2
    python benchmarks/threads.py --n 5000 --workers 2 --remote
    python benchmarks/threads.py --n 5000 --workers 2 --dispatch actor   # the queue actor on the path

Also prints the average batch per message at each dispatch hop (``stats()["dispatch"]``).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

import actors

_GROUPS = ("SupervisorActor", "QueueActor", "WorkerActor", "actors-process-io", "actors-process-helper",
           "actors-executor-reader", "actors-executor-timers", "actors-sched", "actors-sqlite", "MainThread")


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["a"]) + int(options["b"])


def hops(dispatch: dict[str, Any]) -> str:
    """One line: the dispatch mode and the average batch per message (or call) at each hop."""
    return f"  dispatch={dispatch['mode']} average batch: " + ", ".join(
        f"{name} {hop['average']:.1f} ({hop['messages']})" for name, hop in dispatch["hops"].items())


def thread_cpu() -> dict[str, tuple[float, float]]:
    """(user, system) seconds per thread group of this process."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, tuple[float, float]] = {}
    for tid in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # the thread ended
        name = names.get(int(tid), "other")
        group = next((g for g in _GROUPS if name.startswith(g)), re.sub(r"(-\d+)+$", "", name.split(" (")[0]))
        user, system = out.get(group, (0.0, 0.0))
        out[group] = (user + int(fields[11]) / tick, system + int(fields[12]) / tick)
    return out


def serve(path: str, workers: int) -> int:
    """The ``--remote`` serving side: a node on ``path`` until SIGTERM."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with actors.Supervisor.start(path, workers=workers) as sup:
        sup.register_task_worker(actors.TaskWorker("ADD", add))
        print("ready", flush=True)
        signal.signal(signal.SIGUSR1, lambda *_: print(repr(thread_cpu()), flush=True))
        done.wait()
    return 0


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _server_threads(server: subprocess.Popen[str]) -> dict[str, tuple[float, float]]:
    """The serving process's CPU per thread group (it prints them on SIGUSR1)."""
    assert server.stdout is not None
    server.send_signal(signal.SIGUSR1)
    line = server.stdout.readline()
    return dict(ast.literal_eval(line))


def _print_threads(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]],
                   n: int) -> None:
    rows = []
    for group, (user, system) in after.items():
        user0, system0 = before.get(group, (0.0, 0.0))
        rows.append((group, (user - user0) / n * 1e6, (system - system0) / n * 1e6))
    for group, user, system in sorted(rows, key=lambda row: -(row[1] + row[2])):
        if user + system >= 1:
            print(f"  {group:28s} {user + system:6.0f} us/task (user {user:4.0f}, system {system:4.0f})")


def remote(path: str, n: int, workers: int) -> int:
    server = subprocess.Popen([sys.executable, __file__, "--serve", path, "--workers", str(workers)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        node, me = psutil.Process(server.pid), psutil.Process()
        with actors.Supervisor.start(path, workers=0) as client:
            for task_id in [client.create_task("ADD", metadata={"a": 1, "b": 2}) for _ in range(200)]:
                client.wait(task_id, timeout=60)  # children warm
            kids0 = sum(_cpu(child) for child in node.children())
            threads0 = _server_threads(server)
            node0, me0, start = _cpu(node), _cpu(me), time.perf_counter()
            last = ""
            for i in range(n):
                last = client.create_task("ADD", metadata={"a": i, "b": 2})
            client.wait(last, timeout=600)
            while client.stats()["tasks"].get("succeeded", 0) < n + 200:
                time.sleep(0.005)
            elapsed = time.perf_counter() - start
            kids = sum(_cpu(child) for child in node.children()) - kids0
            served, produced = _cpu(node) - node0, _cpu(me) - me0
            threads1 = _server_threads(server)
        print(f"remote N={n} W={workers}: {n / elapsed:,.0f} tasks/s end to end; CPU per task: producer "
              f"{produced / n * 1e6:,.0f} us, serving process {served / n * 1e6:,.0f} us, "
              f"its children {kids / n * 1e6:,.0f} us")
        print("  serving process by thread:")
        _print_threads(threads0, threads1, n)
        return 0
    finally:
        server.terminate()
        server.wait(60)


@dataclass
class Embedded:
    """One embedded measurement: ``n`` tasks created one by one on a node with ``workers``
    process workers, in this process. Times are seconds over the measured span (after
    the warm-up); ``threads`` is (user, system) per thread group of this process,
    ``children`` the CPU of each pool child (by pid)."""

    n: int
    workers: int
    elapsed: float
    parent_cpu: float
    threads: dict[str, tuple[float, float]]
    children: dict[int, float]
    succeeded: int
    dispatch: dict[str, Any] | None = None  # stats()["dispatch"]: the batch per message at each hop

    @property
    def rate(self) -> float:
        return self.n / self.elapsed


def measure_embedded(n: int, workers: int, store: str | Any | None = None,
                     on_measure: Callable[[], None] | None = None) -> Embedded:
    """Run ``n`` no-op tasks created one by one from this thread on an embedded node (SQLite,
    ``synchronous=NORMAL``) after 200 warm-up tasks; ``store`` is a path or a ``TaskStore``
    instance (default: a fresh file); ``on_measure`` is called once the warm-up is over,
    just before the measured span. Linux only (``/proc/self/task``)."""
    if store is None:
        store = os.path.join(tempfile.mkdtemp(prefix="actors-threads-"), "bench.db")
    with actors.Supervisor.start(store, workers=workers) as sup:
        sup.register_task_worker(actors.TaskWorker("ADD", add))
        for task_id in [sup.create_task("ADD", metadata={"a": 1, "b": 2}) for _ in range(200)]:
            sup.wait(task_id, timeout=60)  # children warm
        kids = psutil.Process().children()
        kids0 = {child.pid: _cpu(child) for child in kids}
        if on_measure is not None:
            on_measure()
        before, cpu0, start = thread_cpu(), os.times(), time.perf_counter()
        last = ""
        for i in range(n):
            last = sup.create_task("ADD", metadata={"a": i, "b": 2})
        sup.wait(last, timeout=600)
        sup.join(timeout=600)
        elapsed, cpu1, after = time.perf_counter() - start, os.times(), thread_cpu()
        children = {child.pid: _cpu(child) - kids0[child.pid] for child in kids if child.is_running()}
        stats = sup.stats()
        done = stats["tasks"].get("succeeded", 0)
    threads = {}
    for group, (user, system) in after.items():
        user0, system0 = before.get(group, (0.0, 0.0))
        threads[group] = (user - user0, system - system0)
    parent = cpu1.user + cpu1.system - cpu0.user - cpu0.system
    return Embedded(n, workers, elapsed, parent, threads, children, done - 200, stats.get("dispatch"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--remote", action="store_true", help="serve in another process")
    parser.add_argument("--serve", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--dispatch", choices=["direct", "actor"], default=None,
                        help="the supervisor's dispatch (sets ACTORS_DISPATCH; default: the node's)")
    args = parser.parse_args()
    if args.dispatch:
        os.environ["ACTORS_DISPATCH"] = args.dispatch
    if args.serve:
        return serve(args.serve, args.workers)
    path = os.path.join(tempfile.mkdtemp(prefix="actors-threads-"), "bench.db")
    if args.remote:
        return remote(path, args.n, args.workers)
    if not os.path.isdir("/proc/self/task"):
        print("threads.py needs Linux (/proc/self/task)", file=sys.stderr)
        return 2
    run = measure_embedded(args.n, args.workers, path)
    print(f"N={args.n} W={args.workers}: {run.rate:,.0f} tasks/s end to end; "
          f"parent CPU {run.parent_cpu / args.n * 1e6:,.0f} us/task; its children "
          f"{sum(run.children.values()) / args.n * 1e6:,.0f} us/task; {run.succeeded} succeeded")
    if run.dispatch:
        print(hops(run.dispatch))
    _print_threads({}, run.threads, args.n)
    return 0 if run.succeeded == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
