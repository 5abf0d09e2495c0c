"""Procrastinate on PostgreSQL (127.0.0.1), in its own database ``actors_bench``.

If that database cannot be created, the schema ``actors_bench`` of the ``test``
database is used instead (``search_path``). The driver picks and exports the DSN
(``BENCH_PROCRASTINATE_DSN``) before starting workers, which inherit it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.metadata import version

import procrastinate
import psycopg

from .common import PeerBase, WorkerProcs, add_and_record, workdir

PG = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "actors_bench"
QUEUE = "bench"
# Jobs processed at once by one worker process (procrastinate's default is 1).
CONCURRENCY = int(os.environ.get("BENCH_PROCRASTINATE_CONCURRENCY", "1"))


def _resolve_dsn() -> str:
    dsn = os.environ.get("BENCH_PROCRASTINATE_DSN")
    if dsn:
        return dsn
    try:
        with psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DB_NAME}")
        dsn = f"{PG}/{DB_NAME}"
    except psycopg.Error:
        with psycopg.connect(f"{PG}/test", autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {DB_NAME}")
        dsn = f"{PG}/test?options=-csearch_path%3D{DB_NAME}"
    os.environ["BENCH_PROCRASTINATE_DSN"] = dsn
    return dsn


DSN = _resolve_dsn()
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=DSN))


@app.task(name="add", queue=QUEUE)
def add(i: int, a: int, b: int) -> int:
    return add_and_record(i, a, b)


class ProcrastinateSystem(PeerBase):
    """Producer: ``task.defer`` (bulk: ``task.batch_defer``, one INSERT).

    Workers: N ``procrastinate worker`` processes, each with ``--concurrency``
    ``BENCH_PROCRASTINATE_CONCURRENCY`` (default 1); LISTEN/NOTIFY on (default),
    finished jobs kept in the table (default ``--delete-jobs never``).
    """

    name = "procrastinate_pg"
    bulk = True
    table = True

    def __init__(self) -> None:
        self.procs = WorkerProcs(workdir() / "procrastinate-logs")
        self.opened = False
        with psycopg.connect(DSN, autocommit=True) as conn:
            missing = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() == (None,)
        if missing:
            with app.open():
                app.schema_manager.apply_schema()

    def version(self) -> str:
        return f"procrastinate {version('procrastinate')}"

    def reset(self) -> None:
        with psycopg.connect(DSN, autocommit=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE tablename LIKE 'procrastinate%' "
                    "AND schemaname = current_schema()"
                )
            ]
            conn.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")

    def open_producer(self) -> None:
        if not self.opened:
            app.open()
            self.opened = True

    def close_producer(self) -> None:
        if self.opened:
            app.close()
            self.opened = False

    def enqueue(self, i: int) -> None:
        add.defer(i=i, a=1, b=2)

    def enqueue_bulk(self, indices: Sequence[int]) -> None:
        add.batch_defer(*({"i": i, "a": 1, "b": 2} for i in indices))

    def start_workers(self, workers: int) -> list[int]:
        for k in range(workers):
            argv = [
                sys.executable,
                "-m",
                "procrastinate",
                "--app",
                "peers.procrastinate_pg.app",
                "--log-level",
                "warning",
                "worker",
                "--queues",
                QUEUE,
                "--concurrency",
                str(CONCURRENCY),
                "--name",
                f"bench-{k}",
            ]
            self.procs.start(argv, f"worker-{k}")
        return self.procs.pids

    def prefill(self, finished: int, future: int) -> None:
        """``finished`` succeeded jobs and ``future`` jobs due in ten years."""
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, attempts) "
                "SELECT %s, 'add', jsonb_build_object('i', -1 - g, 'a', 1, 'b', 2), 'succeeded', 1 "
                "FROM generate_series(0, %s - 1) g",
                (QUEUE, finished),
            )
            conn.execute(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, scheduled_at) "
                "SELECT %s, 'add', jsonb_build_object('i', -1 - g, 'a', 1, 'b', 2), 'todo', "
                "now() + interval '10 years' FROM generate_series(0, %s - 1) g",
                (QUEUE, future),
            )
            conn.execute("ANALYZE procrastinate_jobs")


def make() -> ProcrastinateSystem:
    return ProcrastinateSystem()
