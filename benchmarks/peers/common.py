"""Shared pieces of the benchmark harness: the run record, RSS sampling, worker processes.

This module is imported by the phase driver *and* by every task body (inside the
systems' own worker processes), under two interpreters: the project's Python
(for ``actors``) and the peers' virtual environment. It therefore uses only the
standard library, plus ``psutil`` for the RSS sampler (both environments have it).

The run record lives in Redis db ``RECORD_DB`` on 127.0.0.1, independent of the
system under test. Each task, after adding its two ints, sends one pipelined
round trip::

    SADD   <prefix>done  <i>       # distinct tasks that ran
    INCR   <prefix>runs            # executions (runs - distinct = duplicates)
    HSETNX <prefix>t     <i> <t>   # time.time() of the first execution

The tiny RESP client below avoids a dependency on ``redis-py``, which the
project's environment does not have; the peers use the same client so that the
record costs everyone the same.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
RECORD_DB = 15
# One Redis database per Redis-backed peer, so a reset (FLUSHDB) touches only it.
PEER_DBS = {"huey_redis": 10, "rq_simple": 11, "dramatiq_redis": 12, "celery_redis": 13}


def record_keys() -> tuple[str, str, str]:
    """(done, runs, times): keys of the run record, unique per phase process.

    ``BENCH_RECORD_PREFIX`` is set by the driver and inherited by the workers it starts.
    """
    prefix = os.environ.get("BENCH_RECORD_PREFIX", "bench:")
    return prefix + "done", prefix + "runs", prefix + "t"


class RedisError(Exception):
    """An error reply from Redis."""


class Resp:
    """A minimal synchronous Redis client (RESP2) over one TCP connection."""

    def __init__(
        self, db: int = RECORD_DB, host: str = REDIS_HOST, port: int = REDIS_PORT, timeout: float = 30.0
    ) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        self.call("SELECT", db)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
            self.sock.close()

    @staticmethod
    def _encode(args: Sequence[Any]) -> bytes:
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(out)

    def _read(self) -> Any:
        line = self.file.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.file.read(size + 2)
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            return [self._read() for _ in range(count)]
        raise RedisError(f"unexpected reply {line!r}")

    def pipeline(self, commands: Iterable[Sequence[Any]]) -> list[Any]:
        commands = list(commands)
        self.sock.sendall(b"".join(self._encode(c) for c in commands))
        replies = [self._read() for _ in commands]
        for reply in replies:
            if isinstance(reply, RedisError):
                raise reply
        return replies

    def call(self, *args: Any) -> Any:
        return self.pipeline([args])[0]


_local = threading.local()


def _record_conn() -> tuple[Resp, tuple[str, str, str]]:
    # One connection per process and thread: workers fork (Huey, Celery, Dramatiq)
    # and run threads (Dramatiq, Procrastinate), and a socket must not be shared.
    conn: Resp | None = getattr(_local, "conn", None)
    if conn is None or getattr(_local, "pid", None) != os.getpid():
        conn = Resp(RECORD_DB)
        _local.conn = conn
        _local.pid = os.getpid()
        _local.keys = record_keys()
    return conn, _local.keys


def add_and_record(i: int, a: int, b: int) -> int:
    """The benchmark task: add two ints and record that task ``i`` ran, and when."""
    total = a + b
    now = time.time()
    conn, (done, runs, times) = _record_conn()
    conn.pipeline([("SADD", done, i), ("INCR", runs), ("HSETNX", times, i, repr(now))])
    return total


class Record:
    """The harness side of the run record (reads and resets it)."""

    def __init__(self) -> None:
        self.conn = Resp(RECORD_DB)
        self.done, self.runs, self.times_key = record_keys()

    def reset(self) -> None:
        self.conn.call("DEL", self.done, self.runs, self.times_key)

    def counts(self) -> tuple[int, int]:
        """(distinct tasks that ran, executions)."""
        distinct, runs = self.conn.pipeline([("SCARD", self.done), ("GET", self.runs)])
        return int(distinct), int(runs or 0)

    def times(self) -> dict[int, float]:
        flat = self.conn.call("HGETALL", self.times_key) or []
        return {int(flat[k]): float(flat[k + 1]) for k in range(0, len(flat), 2)}

    def members(self) -> set[int]:
        return {int(m) for m in self.conn.call("SMEMBERS", self.done) or []}

    def wait(
        self,
        expected: int,
        *,
        stall: float = 30.0,
        limit: float = 600.0,
        poll: float = 0.02,
        grace: float = 0.3,
        check: Callable[[], None] | None = None,
    ) -> tuple[int, int, str | None]:
        """Wait until ``expected`` distinct tasks ran.

        Returns (distinct, runs, error): error is set if nothing progressed for
        ``stall`` seconds or ``limit`` seconds passed in all. ``check`` (called
        about once a second) may raise, e.g. when a worker process died.
        """
        start = last_change = last_check = time.monotonic()
        seen = -1
        while True:
            if check is not None and time.monotonic() - last_check > 1.0:
                check()
                last_check = time.monotonic()
            distinct, runs = self.counts()
            now = time.monotonic()
            if distinct >= expected:
                break
            if distinct != seen:
                seen, last_change = distinct, now
            if now - last_change > stall:
                return distinct, runs, f"stalled at {distinct}/{expected} for {stall:.0f} s"
            if now - start > limit:
                return distinct, runs, f"timed out at {distinct}/{expected} after {limit:.0f} s"
            time.sleep(poll)
        # A short grace period catches a duplicate delivered right after the last task.
        time.sleep(grace)
        distinct, runs = self.counts()
        return distinct, runs, None

    def close(self) -> None:
        """Delete this phase's record and close the connection."""
        with contextlib.suppress(OSError, RedisError):
            self.reset()
        self.conn.close()


def flush_db(db: int) -> None:
    conn = Resp(db)
    try:
        conn.call("FLUSHDB")
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# RSS of the worker side


def tree_rss(roots: Sequence[int]) -> int:
    """Sum of RSS (bytes) of the given processes and all their descendants."""
    import psutil

    total = 0
    seen: set[int] = set()
    for pid in roots:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for proc in procs:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
    return total


class RssSampler:
    """Samples the RSS of a process tree in a background thread; keeps the peak."""

    def __init__(self, roots: Sequence[int], interval: float = 0.1) -> None:
        self.roots = list(roots)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.roots))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.peak = max(self.peak, tree_rss(self.roots))


# ---------------------------------------------------------------------------
# Worker processes


class WorkerProcs:
    """The peers' own consumer commands, started as subprocesses and always stopped.

    Every process is started in the caller's process group (the phase driver runs
    in its own session), so the orchestrator can kill everything as a last
    resort. ``stop`` sends the peer's graceful signal, waits, then SIGKILLs the
    whole tree (descendants collected with psutil before the signal).
    """

    def __init__(
        self, logdir: Path, graceful: signal.Signals = signal.SIGTERM, stop_timeout: float = 15.0
    ) -> None:
        self.logdir = logdir
        self.graceful = graceful
        self.stop_timeout = stop_timeout
        self.procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[Any] = []

    def start(self, argv: Sequence[str], name: str, env: dict[str, str] | None = None) -> int:
        self.logdir.mkdir(parents=True, exist_ok=True)
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop)
        self._logs.append(log)
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=bench_dir(),
        )
        self.procs.append(proc)
        return proc.pid

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"worker {proc.args!r} exited with {proc.returncode}")

    def stop(self) -> None:
        import psutil

        tree: list[psutil.Process] = []
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                tree += psutil.Process(proc.pid).children(recursive=True)
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(self.graceful)
        deadline = time.monotonic() + self.stop_timeout
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        for child in tree:
            with contextlib.suppress(psutil.Error):
                child.kill()
        psutil.wait_procs(tree, timeout=5)
        for log in self._logs:
            log.close()
        self.procs, self._logs = [], []


def bench_dir() -> str:
    """The ``benchmarks`` folder (put on PYTHONPATH so ``peers.*`` imports)."""
    return str(Path(__file__).resolve().parent.parent)


def workdir() -> Path:
    """Scratch folder of the current phase (SQLite files, worker logs)."""
    path = Path(os.environ.get("BENCH_WORKDIR", "/var/tmp/actors-bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


class System(Protocol):
    """What the phase driver needs from each system under test."""

    name: str
    bulk: bool  # has a native bulk enqueue
    table: bool  # keeps tasks in a table (phase E applies)

    def reset(self) -> None: ...
    def open_producer(self) -> None: ...
    def close_producer(self) -> None: ...
    def enqueue(self, i: int) -> None: ...
    def enqueue_bulk(self, indices: Sequence[int]) -> None: ...
    def start_workers(self, workers: int) -> list[int]: ...
    def check_workers(self) -> None: ...
    def stop_workers(self) -> None: ...
    def prefill(self, finished: int, future: int) -> None: ...
    def version(self) -> str: ...


class PeerBase:
    """The defaults most systems share: no producer connection to manage, no bulk
    enqueue, no phase-E prefill, workers kept in ``self.procs``."""

    name: str
    procs: WorkerProcs

    def open_producer(self) -> None:
        pass

    def close_producer(self) -> None:
        pass

    def enqueue_bulk(self, indices: Sequence[int]) -> None:
        raise NotImplementedError(f"{self.name} has no bulk enqueue")

    def check_workers(self) -> None:
        self.procs.check_alive()

    def stop_workers(self) -> None:
        self.procs.stop()

    def prefill(self, finished: int, future: int) -> None:
        raise NotImplementedError
