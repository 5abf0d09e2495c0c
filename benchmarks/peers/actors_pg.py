"""``actors`` on PostgreSQL: 1, 2 or 3 nodes on one database, through the public API only.

Runs in the project's own environment (``--actors-python``), which needs
``actors[postgres]`` (``psycopg``). Configured by the driver through the
environment:

- ``BENCH_ACTORS_NODES``: the number of nodes (``actors_pg1``, ``_pg2``, ``_pg3``).
- ``BENCH_PG_DSN``: the database (default
  ``postgresql://postgres@127.0.0.1:5432/actors_bench``, created if missing).

Each node is a separate serving process started with the project's own CLI,
``python -m actors.cli worker peers.actors_pg --store DSN --workers K`` (the
``actors worker`` command; it finds ``WORKER`` below). The harness's
``--workers`` total is split over the nodes, at least one per node, so three
nodes run three worker processes when ``--workers`` is 2. The producer is a
client-only supervisor (``workers=0``) on the same database, as in the
``actors_remote`` SQLite mode. The tasks live in the store's default schema,
``actors``; a reset drops that schema (``DROP SCHEMA IF EXISTS actors CASCADE``)
and the next store to open recreates it.

Only this module's harness side imports ``psycopg`` (to create the database and
drop the schema), lazily: the pool children import this module to find ``add``
and should pay for nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

import actors

from .common import PeerBase, WorkerProcs, add_and_record, workdir

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/actors_bench"
SCHEMA = "actors"  # PostgresStore's default schema: the one a plain postgresql:// URL selects
NAME = "ADD"


def add(ctx: Any, options: dict[str, Any], task: Any) -> int:
    return add_and_record(options["i"], options["a"], options["b"])


WORKER = actors.TaskWorker(NAME, add)


def nodes() -> int:
    return max(1, int(os.environ.get("BENCH_ACTORS_NODES", "1")))


def split(workers: int, count: int) -> list[int]:
    """Worker processes per node: ``workers`` spread evenly, at least one per node."""
    total = max(workers, count)
    return [total // count + (1 if k < total % count else 0) for k in range(count)]


def resolve_dsn() -> str:
    """``BENCH_PG_DSN`` or the default; the database is created if missing.

    The creation goes through the ``postgres`` maintenance database (autocommit
    ``CREATE DATABASE``). If that connection fails, the DSN is used as it is and
    the store reports any problem when it opens.
    """
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    dsn = os.environ.get("BENCH_PG_DSN") or DEFAULT_DSN
    dbname = str(conninfo_to_dict(dsn).get("dbname") or "")
    if dbname and dbname != "postgres":
        try:
            admin = make_conninfo(dsn, dbname="postgres", connect_timeout=10)
            with psycopg.connect(admin, autocommit=True) as conn:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
                if not found:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except psycopg.errors.DuplicateDatabase:
            pass  # created concurrently
        except psycopg.Error as exc:
            print(f"actors_pg: cannot check or create database {dbname!r}: {exc}", file=sys.stderr)
    os.environ["BENCH_PG_DSN"] = dsn  # inherited by the node processes
    return dsn


class ActorsPgSystem(PeerBase):
    bulk = True
    table = False  # phase E (prefill) is not implemented for PostgreSQL; run.py skips it

    def __init__(self) -> None:
        self.nodes = nodes()
        self.name = f"actors_pg{self.nodes}"
        self.dsn = resolve_dsn()
        self.client: Any = None  # client-only supervisor (workers=0)
        self.procs = WorkerProcs(workdir() / "actors-pg-logs")
        self.per_node: list[int] | None = None

    def version(self) -> str:
        per_node = self.per_node or split(2, self.nodes)
        return (
            f"actors {version('actors')} (PostgreSQL, {self.nodes} node(s), "
            f"{sum(per_node)} worker processes: {'+'.join(map(str, per_node))})"
        )

    def reset(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            # A left-over session holding locks must fail the run, not hang it.
            conn.execute("SET lock_timeout = '30s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))

    def open_producer(self) -> None:
        if self.client is None:
            self.client = actors.Supervisor.start(self.dsn, workers=0)

    def close_producer(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            client.stop(timeout=30)

    @property
    def producer(self) -> Any:
        if self.client is None:
            raise RuntimeError("open_producer() first")
        return self.client

    def enqueue(self, i: int) -> None:
        self.producer.create_task(NAME, metadata={"i": i, "a": 1, "b": 2})

    def enqueue_bulk(self, indices: Sequence[int]) -> None:
        self.producer.create_tasks([{"name": NAME, "metadata": {"i": i, "a": 1, "b": 2}} for i in indices])

    def start_workers(self, workers: int) -> list[int]:
        self.per_node = split(workers, self.nodes)
        for k, count in enumerate(self.per_node):
            argv = [
                sys.executable,
                "-m",
                "actors.cli",
                "worker",
                "peers.actors_pg",
                "--store",
                self.dsn,
                "--workers",
                str(count),
            ]
            self.procs.start(argv, f"node-{k}")
        return self.procs.pids


def driver_workers() -> int:
    """The driver's ``--workers`` (read at ``make`` so that the version string names the split)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--workers", type=int, default=2)
    return int(parser.parse_known_args()[0].workers)


def make() -> ActorsPgSystem:
    system = ActorsPgSystem()
    system.per_node = split(driver_workers(), system.nodes)
    return system
