"""The SQLite store's connections: opening (pragmas, then the schema), one guarded
connection behind a lock whose errors leave as ``StoreError``, one more per thread that
creates tasks (``PerThread``), and the checkpoint thread."""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ...errors import StoreError
from .schema import migrate

__all__ = ["WRITER_AUTOCHECKPOINT", "Checkpointer", "Guarded", "PerThread", "open_connection"]


#: WAL pages after which a writer checkpoints by itself (a safety net: normally the
#: ``Checkpointer`` thread keeps the WAL far smaller, off the writers' commits). Set on the
#: store's connection (``Checkpointer``) and on every further one (``open_connection``).
WRITER_AUTOCHECKPOINT = 10_000


def open_connection(path: str, *, synchronous: str, busy_timeout: float,
                    trace: Callable[[str], object] | None = None, schema: bool = True) -> sqlite3.Connection:
    """Open ``path``, set the pragmas and bring the schema to ``SCHEMA_VERSION``.

    Args:
        path: a file name or ``":memory:"``.
        synchronous: ``"NORMAL"`` or ``"FULL"``.
        busy_timeout: seconds to wait for another connection's write lock.
        trace: called with each SQL statement run (values bound), pragmas included.
        schema: False for a further connection to a file this process opened already
            (its schema checked and WAL set: only the per-connection pragmas are set).

    Returns:
        An autocommit connection (``isolation_level=None``): the caller issues
        ``BEGIN IMMEDIATE`` / ``COMMIT`` itself.

    Raises:
        StoreError: the file cannot be opened or is not an actors task store (the
            message names the path).
    """
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the task store {path!r}: {exc}") from None
    conn.set_trace_callback(trace)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if not schema:
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            # a create's COMMIT must not checkpoint (and fsync) at SQLite's 1,000 pages either
            conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT}")
            return conn
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if path != ":memory:" and str(mode).lower() != "wal":
            raise StoreError(f"cannot open the task store {path!r}: WAL journal mode refused ({mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        migrate(conn, path)
    except StoreError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot open the task store {path!r}: {exc}") from None
    return conn


class Checkpointer:
    """A thread that copies the WAL back into the database file (``wal_checkpoint(PASSIVE)``).

    SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL pages
    and fsyncs there (``synchronous=NORMAL`` syncs only at checkpoints): that commit
    takes ~10 ms instead of ~0.1 ms, on the supervisor's thread, and every message
    queued behind it waits. Here the checkpoint runs on its own connection and thread
    (the GIL is released meanwhile); a passive checkpoint never blocks the writer, and
    durability is the same (a commit is in the WAL either way). The writer keeps a
    far larger automatic checkpoint as a safety net.
    """

    def __init__(self, path: str, writer: Guarded, interval: float = 0.2) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        with writer.read() as conn:
            conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT}")
        self._thread = threading.Thread(target=self._run, name="actors-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return  # the writer's own automatic checkpoint still runs
        try:
            conn.execute("PRAGMA busy_timeout = 1000")
            version = None
            while not self._stop.wait(self._interval):
                now = conn.execute("PRAGMA data_version").fetchone()[0]
                if now != version:  # another connection committed since the last look
                    version = now
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass  # the file went away or is closed: the writer's checkpoint remains
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


class Guarded:
    """One connection behind a lock; every ``sqlite3`` error leaves as ``StoreError`` naming the path."""

    def __init__(self, conn: sqlite3.Connection, path: str,
                 ended: Callable[[bool], None] | None = None, busy_timeout: float = 5.0) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self._ended = ended  # ended(committed), lock held, after each transaction commits or rolls back
        self._busy_timeout = busy_timeout
        # SQLite's busy handler is on only while ``read`` runs: a transaction needs none (see
        # ``_begin``), so it costs no pragma statements
        self._busy_pragma = f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}"
        try:
            conn.execute("PRAGMA busy_timeout = 0")
        except sqlite3.Error as exc:
            raise self.error(exc) from exc

    def error(self, exc: BaseException) -> StoreError:
        return StoreError(f"task store {self.path!r}: {exc}")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"task store {self.path!r} is closed")
        return self._conn

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: commit on success, roll back on any error.

        Threads of this process writing the file take turns on SQLite's lock like other
        processes do (``_begin``'s short retries). Measured: a lock shared in-process instead,
        which woke the waiter the moment the holder committed, put a one-by-one producer and
        the supervisor in lockstep (a claim per create: batches of 1.5, a third of the rate,
        ``benchmarks/threads.py``); the retry's pauses let creates gather between claims.
        """
        with self._lock:
            conn = self._connection()
            try:
                self._begin(conn)
            except sqlite3.Error as exc:
                raise self.error(exc) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if self._ended is not None:
                    self._ended(False)
                if isinstance(exc, sqlite3.Error):
                    raise self.error(exc) from exc
                raise
            if self._ended is not None:
                self._ended(True)

    def _begin(self, conn: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``, waiting for another process's write lock in short steps.

        SQLite's own busy handler sleeps 1 ms, then 2, 5, 10 ... ms between tries, while a
        write transaction here holds the lock for ~0.1 ms: two processes writing one file
        often (a producer and a serving node) lost most of their time sleeping. So the
        handler is off (it is on only while ``read`` runs), and this retries after 50 µs,
        doubling to 2 ms, until ``busy_timeout`` has passed (then SQLite's "database is
        locked" error). Statements inside the transaction need no handler: in WAL mode a
        transaction that holds the write lock is not refused as busy (only beginning one
        can be).
        """
        deadline = time.monotonic() + self._busy_timeout
        pause = 0.00005
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.002)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (autocommit: each statement sees one snapshot), with
        SQLite's busy handler on (``busy_timeout``) while the caller reads."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute(self._busy_pragma)
                try:
                    yield conn
                finally:
                    conn.execute("PRAGMA busy_timeout = 0")
            except sqlite3.Error as exc:
                raise self.error(exc) from exc

    def close(self) -> None:
        """Close the connection. Idempotent; later calls raise ``StoreError``."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error as exc:
                raise self.error(exc) from exc


class PerThread:
    """One more ``Guarded`` connection per calling thread, opened lazily by ``get``.

    A create inserts on its caller's own connection (not the supervisor's), so it waits for
    no other thread's lock in this process: SQLite's write lock (``BEGIN IMMEDIATE`` with
    ``Guarded``'s short retries) orders the writers. A thread's connection closes when the
    thread ends (its ``threading.local`` goes away) or with the store (``close``), whichever
    comes first; after ``close``, ``get`` raises ``StoreError``.
    """

    def __init__(self, path: str, opener: Callable[[], sqlite3.Connection], busy_timeout: float) -> None:
        self._path = path
        self._open = opener
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open_ones: weakref.WeakSet[Guarded] = weakref.WeakSet()
        self._closed = False

    def get(self) -> Guarded:
        """The calling thread's connection (opened now if it has none)."""
        db: Guarded | None = getattr(self._local, "db", None)
        if db is not None:
            return db
        with self._lock:
            if self._closed:
                raise StoreError(f"task store {self._path!r} is closed")
            try:
                conn = self._open()
            except sqlite3.Error as exc:
                raise StoreError(f"task store {self._path!r}: {exc}") from None
            db = Guarded(conn, self._path, busy_timeout=self._busy_timeout)
            self._open_ones.add(db)
        self._local.db = db
        return db

    def close(self) -> None:
        """Close every thread's connection. Idempotent."""
        with self._lock:
            self._closed = True
            open_ones = list(self._open_ones)
        for db in open_ones:
            db.close()
