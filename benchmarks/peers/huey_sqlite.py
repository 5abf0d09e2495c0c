"""SqliteHuey: Huey on a SQLite file (WAL, Huey's defaults: synchronous left at SQLite's FULL)."""

from __future__ import annotations

import pickle
import sqlite3
import time

from huey import SqliteHuey

from .common import add_and_record, workdir
from .huey_common import HueySystem

DB_PATH = workdir() / "huey.db"
huey = SqliteHuey("bench", filename=str(DB_PATH))


@huey.task()
def add(i: int, a: int, b: int) -> int:
    return add_and_record(i, a, b)


class SqliteHueySystem(HueySystem):
    def prefill(self, finished: int, future: int) -> None:
        """``future`` rows in Huey's ``schedule`` table (due in ten years) and
        ``finished`` results in its ``kv`` table (Huey deletes a task row when it
        dequeues it; what stays behind of a finished task is its result)."""
        data = huey.serialize_task(add.s(-1, 1, 2))
        result = pickle.dumps(3)
        eta = time.time() + 10 * 365 * 86400
        conn = sqlite3.connect(DB_PATH, timeout=60)
        try:
            with conn:
                conn.executemany(
                    "insert into schedule (queue, data, timestamp) values (?, ?, ?)",
                    ((huey.name, data, eta) for _ in range(future)),
                )
                conn.executemany(
                    "insert into kv (queue, key, value) values (?, ?, ?)",
                    ((huey.name, f"prefill-{k}", result) for k in range(finished)),
                )
        finally:
            conn.close()


def make() -> SqliteHueySystem:
    return SqliteHueySystem("huey_sqlite", huey, add, "peers.huey_sqlite.huey", table=True)
