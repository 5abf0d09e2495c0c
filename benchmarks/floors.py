"""The floor of each stage of the embedded path, each measured alone in a loop on this machine.

A floor is what one step costs with nothing else running: a bare SQLite transaction, the
same insert through ``SQLiteStore.add``, a claim + finish through the store, the store's
fused transitions (``add_and_claim``, ``finish_and_claim``), a socket-pair round trip of a
pickled one-job batch to a real second process and back, a pykka ``tell`` and ``ask``
between threads, a ``queue.Queue`` hand-off, a pickle of a job and a cloudpickle of a
small function. Each is run ``--rounds`` times; printed as µs per operation: wall time
(min / median over the rounds) and CPU time (median; every thread of this process, plus
the child's for the round trip), and where the CPU splits over threads, each side's.

``--stages`` also runs ``benchmarks/threads.py``'s measurement (an embedded node, 2 process
workers, tasks created one by one; imported, not copied) and prints, per thread and process
of the embedded path, its CPU per task next to the floor of what that thread does per task
and the gap, with the batches seen on each hop (calls and items counted on the store and on
pykka's ``tell`` / ``ask`` during the run).

    python benchmarks/floors.py                 # floors only (~15 s)
    python benchmarks/floors.py --stages        # and the stage table (~25 s)
    python benchmarks/floors.py --quick --json  # the short form, one JSON line at the end
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import queue
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cloudpickle
import psutil
import pykka

import actors
from actors.messages import Job
from actors.models import TaskStatus
from actors.runtime.node import open_store
from actors.storage.base import ClaimRequest, Finish

sys.path.insert(0, str(Path(__file__).resolve().parent))
import threads  # benchmarks/threads.py: the stage measurement

#: One operation's wall and CPU seconds over a loop of ``count``, with named CPU parts.
Timing = tuple[float, float, dict[str, float]]


@dataclass
class Floor:
    """A floor: µs per operation (wall min / median over rounds, CPU median, CPU parts)."""

    name: str
    what: str
    wall_min: float
    wall_median: float
    cpu: float
    parts: dict[str, float] = field(default_factory=dict)


def measure(name: str, what: str, run: Callable[[int], Timing], count: int, rounds: int) -> Floor:
    run(max(1, count // 10))  # warm: caches, the JIT-less interpreter's first calls
    walls, cpus, parts = [], [], []
    for _ in range(rounds):
        wall, cpu, part = run(count)
        walls.append(wall / count * 1e6)
        cpus.append(cpu / count * 1e6)
        parts.append({key: value / count * 1e6 for key, value in part.items()})
    median_parts = {key: statistics.median(p[key] for p in parts) for key in parts[0]}
    return Floor(name, what, min(walls), statistics.median(walls), statistics.median(cpus), median_parts)


def _timed(loop: Callable[[], dict[str, float] | None]) -> Timing:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    parts = loop() or {}
    return time.perf_counter() - wall0, time.process_time() - cpu0, parts


# --- the tasks and the store ------------------------------------------------------------------


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["a"]) + int(options["b"])


def _task(i: int) -> actors.Task:
    now = datetime.now(UTC)
    return actors.Task(id=uuid.uuid4().hex, name="ADD", metadata={"a": i, "b": 2}, run_at=now,
                       created_at=now, updated_at=now)


def _job(i: int) -> Job:
    return Job(_task(i), os.urandom(16).hex(), 1, None)


class _Files:
    """Fresh SQLite files in one temporary folder."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="actors-floors-")
        self._count = 0

    def new(self) -> str:
        self._count += 1
        return os.path.join(self.root, f"floor-{self._count}.db")


def bare_insert(files: _Files) -> Callable[[int], Timing]:
    """``BEGIN IMMEDIATE; INSERT one row; COMMIT`` on the store's own table (schema and
    indexes as the store made them; the row copied from one the store wrote), WAL,
    ``synchronous=NORMAL``, SQLite's default autocheckpoint."""

    def run(count: int) -> Timing:
        path = files.new()
        store = open_store(path, synchronous="NORMAL")
        store.add([_task(0)])
        store.close()
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        cursor = conn.execute("SELECT * FROM tasks LIMIT 1")
        columns = [d[0] for d in cursor.description]
        row = list(cursor.fetchone())
        at_id, at_seq = columns.index("id"), columns.index("seq")
        sql = f"INSERT INTO tasks ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        rows = []
        for _ in range(count):
            row[at_id], row[at_seq] = uuid.uuid4().hex, None
            rows.append(tuple(row))

        def loop() -> None:
            for values in rows:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(sql, values)
                conn.execute("COMMIT")

        try:
            return _timed(loop)
        finally:
            conn.close()

    return run


def store_add(files: _Files, *, claim: bool) -> Callable[[int], Timing]:
    """``SQLiteStore.add([task])`` one by one (``claim``: ``add_and_claim``, one due task
    claimed with it, as the supervisor creates while a worker has room)."""

    def run(count: int) -> Timing:
        store = open_store(files.new(), synchronous="NORMAL")
        tasks = [_task(i) for i in range(count)]
        request = _request()

        def loop() -> None:
            if claim:
                for task in tasks:
                    store.add_and_claim([task], time.time(), request)
            else:
                for task in tasks:
                    store.add([task])

        try:
            return _timed(loop)
        finally:
            store.close()

    return run


def _request() -> ClaimRequest:
    return ClaimRequest(["ADD"], 1, "floors", 30.0)


def store_claim_finish(files: _Files, *, fused: bool) -> Callable[[int], Timing]:
    """A claim of one task then its finish through the store: ``claim`` + ``finish`` (two
    transactions), or ``finish_and_claim`` (one: the previous task's end and the next claim)."""

    def run(count: int) -> Timing:
        store = open_store(files.new(), synchronous="NORMAL")
        store.add([_task(i) for i in range(count + 1)])
        request = _request()

        def finish(claim: Any) -> Finish:
            return Finish(claim.task.id, claim.token, TaskStatus.SUCCEEDED, result=3)

        def loop() -> None:
            if fused:
                (held,) = store.claim(["ADD"], 1, time.time(), "floors", 30.0)
                for _ in range(count):
                    _, claims = store.finish_and_claim([finish(held)], time.time(), request)
                    held = claims[0]
            else:
                for _ in range(count):
                    (claim,) = store.claim(["ADD"], 1, time.time(), "floors", 30.0)
                    store.finish([finish(claim)], time.time())

        try:
            return _timed(loop)
        finally:
            store.close()

    return run


# --- the pipe to a child ----------------------------------------------------------------------

_HEADER = struct.Struct("!Q")

#: The echo child: for every length-prefixed pickle (a ``("run", [(seq, job, version)], ...)``
#: batch like the executor's) it sends back ``("events", [(seq, JobDone)])``, as a pool child
#: reports a no-op job. It imports only what a pool child imports to read a job (``actors``' kernel).
_ECHO = """
import pickle, socket, struct, sys
from actors.messages import JobDone
from actors.models import Succeeded
header = struct.Struct("!Q")
sock = socket.socket(fileno=int(sys.argv[1]))
def read(size):
    buffer = bytearray(size); view = memoryview(buffer); got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise SystemExit(0)
        got += n
    return buffer
while True:
    (size,) = header.unpack(read(8))
    kind, items, functions, path = pickle.loads(read(size))
    events = [(seq, JobDone(job.task.id, job.token, Succeeded(3))) for seq, job, _ in items]
    data = pickle.dumps(("events", events), protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(header.pack(len(data)) + data)
"""


def pipe_round_trip() -> tuple[Callable[[int], Timing], Callable[[], None]]:
    """Parent → child → parent over a socket pair: a pickled one-job batch out, a pickled
    ``JobDone`` back (a real second process, started once). CPU parts: the parent's send
    (pickle + ``sendall``), its receive (``recv`` + unpickle), and the child's CPU."""
    parent, child = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-c", _ECHO, str(child.fileno())], pass_fds=[child.fileno()])
    child.close()
    ps = psutil.Process(proc.pid)

    def read(size: int) -> bytearray:
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            got += parent.recv_into(view[got:])
        return buffer

    def run(count: int) -> Timing:
        jobs = [_job(i) for i in range(count)]
        send = recv = 0.0
        kid0 = sum(ps.cpu_times()[:2])

        def loop() -> dict[str, float]:
            nonlocal send, recv
            for seq, job in enumerate(jobs):
                t0 = time.thread_time()
                data = pickle.dumps(("run", [(seq, job, 1)], {}, None), protocol=pickle.HIGHEST_PROTOCOL)
                parent.sendall(_HEADER.pack(len(data)) + data)
                t1 = time.thread_time()
                (size,) = _HEADER.unpack(read(_HEADER.size))
                pickle.loads(read(size))
                recv += time.thread_time() - t1
                send += t1 - t0
            return {}

        wall, cpu, _ = _timed(loop)
        kid = sum(ps.cpu_times()[:2]) - kid0
        return wall, cpu + kid, {"parent send": send, "parent receive": recv, "child": kid}

    def close() -> None:
        parent.close()
        proc.wait(10)

    return run, close


# --- hand-offs between threads ----------------------------------------------------------------


def _asked(ref: Any, message: Any) -> Any:
    """``ref.ask(message)``, blocking (typed ``Any``: the reply's type is the message's)."""
    return ref.ask(message)


class _Pong(pykka.ThreadingActor):
    """Tells its peer ``k + 1`` for every ``k`` it receives, until ``last``; measures its own
    thread's CPU, and the part of it spent inside ``tell``."""

    def __init__(self) -> None:
        super().__init__()
        self.peer: Any = None
        self.last = 0
        self.done: threading.Event | None = None
        self.cpu = self.sending = 0.0

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, tuple):  # setup / read-out (asked)
            if message[0] == "peer":
                self.peer, self.last, self.done = message[1], message[2], message[3]
                self.cpu = self.sending = 0.0
                return None
            return time.thread_time(), self.sending
        start = time.thread_time()
        if message >= self.last:
            assert self.done is not None
            self.done.set()
        else:
            before = time.thread_time()
            self.peer.tell(message + 1)
            self.sending += time.thread_time() - before
        self.cpu += time.thread_time() - start
        return message


def pykka_tell_handoff() -> Callable[[int], Timing]:
    """A ``tell`` to an idle actor: two actors tell each other a counter back and forth (each
    message wakes the other's thread). Per operation: one hop. CPU parts: the ``tell`` call
    (sender side) and the rest of both threads (receiver side: waking, taking the message)."""

    def run(count: int) -> Timing:
        a, b = _Pong.start(), _Pong.start()
        done = threading.Event()
        try:
            _asked(a, ("peer", b, count, done))
            _asked(b, ("peer", a, count, done))
            cpu0 = [_asked(r, ("cpu",))[0] for r in (a, b)]

            def loop() -> dict[str, float]:
                a.tell(0)
                done.wait(120)
                return {}

            wall, cpu, _ = _timed(loop)
            after = [_asked(r, ("cpu",)) for r in (a, b)]
            threads_cpu = sum(after[i][0] - cpu0[i] for i in range(2))
            sending = sum(item[1] for item in after)
            return wall, cpu, {"sender (tell)": sending, "receiver": threads_cpu - sending}
        finally:
            a.stop()
            b.stop()

    return run


class _Sink(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def on_receive(self, message: Any) -> Any:
        if message == "cpu":
            return time.thread_time()
        self.count += 1
        return self.count


def _to_sink(send: Callable[[Any, int], Any], part: str) -> Callable[[int], Timing]:
    """``count`` messages sent to one actor with ``send(ref, i)`` from this thread. CPU parts:
    this thread (named ``part``) and the actor's thread."""

    def run(count: int) -> Timing:
        ref = _Sink.start()
        try:
            actor0 = _asked(ref, "cpu")

            def loop() -> dict[str, float]:
                start = time.thread_time()
                for i in range(count):
                    send(ref, i)
                spent = time.thread_time() - start
                return {part: spent, "actor": _asked(ref, "cpu") - actor0}

            return _timed(loop)
        finally:
            ref.stop()

    return run


def pykka_tell_burst() -> Callable[[int], Timing]:
    """``count`` tells sent in a row to one actor (its inbox fills; the actor drains it), then
    one ``ask`` as a barrier. CPU parts: the sending thread, the actor's thread."""
    return _to_sink(lambda ref, i: ref.tell(i), "sender")


def pykka_ask() -> Callable[[int], Timing]:
    """``ref.ask(message)`` from this thread, blocking for the reply (as ``create_task`` asks
    the supervisor). CPU parts: the asking thread, the actor's thread."""
    return _to_sink(lambda ref, i: ref.ask(i), "caller")


def queue_handoff() -> Callable[[int], Timing]:
    """``queue.Queue`` ping-pong between two threads (pykka's inbox is one); per operation one hop."""

    def run(count: int) -> Timing:
        there: queue.Queue[int] = queue.Queue()
        back: queue.Queue[int] = queue.Queue()
        other = [0.0]

        def echo() -> None:
            start = time.thread_time()
            while (k := there.get()) >= 0:
                back.put(k)
            other[0] = time.thread_time() - start

        thread = threading.Thread(target=echo, daemon=True)
        thread.start()

        def loop() -> dict[str, float]:
            start = time.thread_time()
            for i in range(count // 2):
                there.put(i)
                back.get()
            mine = time.thread_time() - start
            there.put(-1)
            thread.join(10)
            return {"thread A": mine, "thread B": other[0]}

        return _timed(loop)

    return run


def pickle_job() -> Callable[[int], Timing]:
    """``pickle.dumps`` + ``loads`` of a one-job batch as the executor sends it."""

    def run(count: int) -> Timing:
        jobs = [_job(i) for i in range(count)]

        def loop() -> None:
            for seq, job in enumerate(jobs):
                pickle.loads(pickle.dumps(("run", [(seq, job, 1)], {}, None), protocol=pickle.HIGHEST_PROTOCOL))

        return _timed(loop)

    return run


def cloudpickle_function() -> Callable[[int], Timing]:
    """``cloudpickle.dumps`` of a small task function defined in ``__main__`` (by value, as a
    worker's function is shipped to a child once per name)."""

    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec("def add(ctx, options, task):\n    return int(options['a']) + int(options['b'])\n", namespace)
    function = namespace["add"]

    def run(count: int) -> Timing:
        def loop() -> None:
            for _ in range(count):
                cloudpickle.dumps(function)

        return _timed(loop)

    return run


def floors(quick: bool) -> list[Floor]:
    scale, rounds = (0.25, 3) if quick else (1.0, 5)

    def n(count: int) -> int:
        return max(50, int(count * scale))

    files = _Files()
    pipe, close_pipe = pipe_round_trip()
    plan: list[tuple[str, str, Callable[[int], Timing], int]] = [
        ("sqlite.bare_insert", "BEGIN IMMEDIATE; INSERT one task row; COMMIT (sqlite3, WAL, NORMAL)",
         bare_insert(files), n(2000)),
        ("store.add", "SQLiteStore.add([task])", store_add(files, claim=False), n(1000)),
        ("store.add_and_claim", "SQLiteStore.add_and_claim([task], claim 1)", store_add(files, claim=True), n(1000)),
        ("store.claim+finish", "SQLiteStore.claim(1) then .finish([one]): two transactions",
         store_claim_finish(files, fused=False), n(1000)),
        ("store.finish_and_claim", "SQLiteStore.finish_and_claim([one], claim 1)",
         store_claim_finish(files, fused=True), n(1000)),
        ("pipe.round_trip", "one-job batch to a child process and its JobDone back (socket pair, pickle)",
         pipe, n(3000)),
        ("pykka.tell_handoff", "tell to an idle actor (two actors ping-pong; per hop)", pykka_tell_handoff(),
         n(4000)),
        ("pykka.tell_burst", "tells in a row to one actor (per tell)", pykka_tell_burst(), n(10000)),
        ("pykka.ask", "ask and wait for the reply (per ask)", pykka_ask(), n(3000)),
        ("queue.handoff", "queue.Queue ping-pong between two threads (per hop)", queue_handoff(), n(8000)),
        ("pickle.job", "pickle.dumps + loads of a one-job batch", pickle_job(), n(10000)),
        ("cloudpickle.function", "cloudpickle.dumps of a small __main__ function", cloudpickle_function(), n(2000)),
    ]
    try:
        return [measure(name, what, run, count, rounds) for name, what, run, count in plan]
    finally:
        close_pipe()


def print_floors(results: list[Floor]) -> None:
    print(f"{'floor':24s} {'wall min':>9s} {'median':>9s} {'CPU':>8s}   (µs per operation)")
    for f in results:
        parts = ", ".join(f"{key} {value:.1f}" for key, value in f.parts.items())
        print(f"{f.name:24s} {f.wall_min:9.1f} {f.wall_median:9.1f} {f.cpu:8.1f}   {f.what}"
              + (f"; CPU: {parts}" if parts else ""))


# --- the stages -------------------------------------------------------------------------------


class _Counts:
    """Calls and items per hop during the stage run (the store's transitions; pykka messages by type)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        self._undo: list[Callable[[], None]] = []

    def wrap_store(self, store: Any) -> Any:
        for name in ("add", "add_and_claim", "claim", "finish", "finish_and_claim"):
            method = getattr(store, name)

            def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
                result = _method(*args, **kwargs)
                self.calls[f"store.{_name}"] += 1
                self.items[f"store.{_name}"] += len(args[0]) if _name != "claim" else len(result)
                if _name.endswith("_and_claim"):
                    self.items[f"store.{_name} claimed"] += len(result[1])
                return result

            setattr(store, name, counted)
        return store

    def wrap_pykka(self) -> None:
        tell, ask = pykka.ActorRef.tell, pykka.ActorRef.ask

        def counted_tell(ref: Any, message: Any) -> Any:
            self._count(message)
            return tell(ref, message)

        def counted_ask(ref: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
            self._count(message)
            return ask(ref, message, *args, **kwargs)

        setattr(pykka.ActorRef, "tell", counted_tell)  # noqa: B010 (a patch, undone by ``undo``)
        setattr(pykka.ActorRef, "ask", counted_ask)  # noqa: B010

        def restore() -> None:
            setattr(pykka.ActorRef, "tell", tell)  # noqa: B010
            setattr(pykka.ActorRef, "ask", ask)  # noqa: B010

        self._undo.append(restore)

    def _count(self, message: Any) -> None:
        kind = type(message).__name__
        self.calls[f"message.{kind}"] += 1
        for name in ("tasks", "events", "items", "jobs"):
            inner = getattr(message, name, None)
            if isinstance(inner, (list, tuple)):
                self.items[f"message.{kind}"] += len(inner)
                break

    def undo(self) -> None:
        for step in self._undo:
            step()

    def reset(self) -> None:
        self.calls.clear()
        self.items.clear()


def stages(results: list[Floor], n: int, workers: int) -> dict[str, Any]:
    """Run the embedded measurement and set each thread and process against its floor."""
    f = {floor.name: floor for floor in results}
    counts = _Counts()
    store = counts.wrap_store(open_store(os.path.join(tempfile.mkdtemp(prefix="actors-stages-"), "bench.db")))
    counts.wrap_pykka()
    try:
        run = threads.measure_embedded(n, workers, store, on_measure=counts.reset)
    finally:
        counts.undo()
    per = {group: (user + system) / n * 1e6 for group, (user, system) in run.threads.items()}
    children = sum(run.children.values()) / n * 1e6
    ask, tell, pipe = f["pykka.ask"].parts, f["pykka.tell_handoff"].parts, f["pipe.round_trip"].parts
    supervisor_floor = (ask["actor"] + f["store.add_and_claim"].cpu + f["store.finish_and_claim"].cpu
                        + pipe["parent send"] + tell["receiver"])
    reader_floor = pipe["parent receive"] + tell["sender (tell)"]
    rows = [
        ("producer (MainThread: create_task)", per.pop("MainThread", 0.0), ask["caller"],
         "pykka ask, caller side"),
        ("supervisor actor", per.pop("SupervisorActor", 0.0), supervisor_floor,
         "ask (actor side) + add_and_claim + finish_and_claim + pipe send + tell received"),
        ("executor readers (together)", per.pop("actors-executor-reader", 0.0), reader_floor,
         "pipe receive + tell sent"),
    ]
    other = sum(per.values())
    named = ", ".join(sorted(group for group, value in per.items() if value >= 0.5))
    rows.append((f"other threads ({named})" if named else "other threads", other, 0.0, "nothing per task"))
    parent = sum(row[1] for row in rows)
    parent_floor = sum(row[2] for row in rows)
    rows.append(("whole parent process", parent, parent_floor, "the rows above"))
    rows.append((f"pool children ({len(run.children)}, together)", children, pipe["child"],
                 "child side of the pipe round trip"))
    rows.append(("whole machine (parent + children)", parent + children, parent_floor + pipe["child"],
                 f"1 / floor = {1e6 / (parent_floor + pipe['child']):,.0f} tasks/s on one core"))
    print(f"\nstages: N={n} W={workers}, {run.rate:,.0f} tasks/s end to end, {run.succeeded} succeeded; "
          "CPU per task, µs")
    print(f"{'thread / process':44s} {'CPU':>7s} {'floor':>7s} {'gap':>7s} {'×':>5s}   floor made of")
    for name, cpu, floor, made in rows:
        ratio = f"{cpu / floor:5.1f}" if floor else "    –"
        print(f"{name:44s} {cpu:7.0f} {floor:7.0f} {cpu - floor:7.0f} {ratio}   {made}")
    def hop(key: str, calls: int) -> str:
        items, claimed = counts.items.get(key), counts.items.get(f"{key} claimed")
        return (f"{key} {calls / n:.2f}/task" + (f" ({items / calls:.2f} items each" if items else "")
                + (f", {claimed / calls:.2f} claimed" if claimed else "") + (")" if items else ""))

    print("hops: " + "; ".join(hop(key, calls) for key, calls in sorted(counts.calls.items()) if calls / n >= 0.01))
    return {"n": n, "workers": workers, "rate": run.rate, "succeeded": run.succeeded,
            "rows": [{"stage": name, "cpu_us": cpu, "floor_us": floor, "floor_of": made}
                     for name, cpu, floor, made in rows],
            "hops": {key: {"per_task": calls / n, "items": counts.items.get(key, 0) / calls,
                           "claimed": counts.items.get(f"{key} claimed", 0) / calls}
                     for key, calls in counts.calls.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations and rounds (the CI form)")
    parser.add_argument("--stages", action="store_true", help="also run threads.py's measurement, stage by stage")
    parser.add_argument("--n", type=int, default=5000, help="tasks in the --stages run")
    parser.add_argument("--workers", type=int, default=2, help="process workers in the --stages run")
    parser.add_argument("--json", action="store_true", help="print one JSON line at the end")
    args = parser.parse_args()
    started = time.perf_counter()
    load = os.getloadavg()
    print(f"floors on {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")
    results = floors(args.quick)
    print_floors(results)
    report: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "load": load,
                              "cpus": os.cpu_count(), "floors": {f.name: {
                                  "wall_min_us": f.wall_min, "wall_median_us": f.wall_median, "cpu_us": f.cpu,
                                  "cpu_parts_us": f.parts} for f in results}}
    if args.stages:
        if not os.path.isdir("/proc/self/task"):
            print("--stages needs Linux (/proc/self/task)", file=sys.stderr)
            return 2
        report["stages"] = stages(results, args.n, args.workers)
    print(f"({time.perf_counter() - started:.1f} s)")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
