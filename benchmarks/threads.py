"""Where the parent's CPU goes per task: embedded node, tasks created one by one.

Starts a serving supervisor on a fresh SQLite file (W worker processes), creates
N no-op tasks one at a time from the main thread (the harness's phase B shape,
without the run record), waits for the last, and prints the end-to-end rate and
the parent's CPU time per task, split by thread (user and system time, from
``/proc/self/task/*/stat``; Linux only). Children's CPU is not included.

    python benchmarks/threads.py --n 5000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from typing import Any

import actors

_GROUPS = ("SupervisorActor", "WorkerActor", "actors-executor-reader", "actors-executor-timers",
           "actors-sched", "actors-sqlite", "MainThread")


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["a"]) + int(options["b"])


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
        group = next((g for g in _GROUPS if name.startswith(g)), name)
        user, system = out.get(group, (0.0, 0.0))
        out[group] = (user + int(fields[11]) / tick, system + int(fields[12]) / tick)
    return out


def main() -> int:
    if not os.path.isdir("/proc/self/task"):
        print("threads.py needs Linux (/proc/self/task)", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    path = os.path.join(tempfile.mkdtemp(prefix="actors-threads-"), "bench.db")
    with actors.Supervisor.start(path, workers=args.workers) as sup:
        sup.register_task_worker(actors.TaskWorker("ADD", add))
        for task_id in [sup.create_task("ADD", metadata={"a": 1, "b": 2}) for _ in range(200)]:
            sup.wait(task_id, timeout=60)  # children warm
        before, cpu0, start = thread_cpu(), os.times(), time.perf_counter()
        last = ""
        for i in range(args.n):
            last = sup.create_task("ADD", metadata={"a": i, "b": 2})
        sup.wait(last, timeout=600)
        sup.join(timeout=600)
        elapsed, cpu1, after = time.perf_counter() - start, os.times(), thread_cpu()
        done = sup.stats()["tasks"].get("succeeded", 0)
    parent = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / args.n * 1e6
    print(f"N={args.n} W={args.workers}: {args.n / elapsed:,.0f} tasks/s end to end; "
          f"parent CPU {parent:,.0f} us/task; {done} succeeded")
    rows = []
    for group, (user, system) in after.items():
        user0, system0 = before.get(group, (0.0, 0.0))
        rows.append((group, (user - user0) / args.n * 1e6, (system - system0) / args.n * 1e6))
    for group, user, system in sorted(rows, key=lambda row: -(row[1] + row[2])):
        if user + system >= 1:
            print(f"  {group:28s} {user + system:6.0f} us/task (user {user:4.0f}, system {system:4.0f})")
    return 0 if done == args.n + 200 else 1


if __name__ == "__main__":
    sys.exit(main())
