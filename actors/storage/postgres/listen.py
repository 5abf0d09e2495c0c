"""Wake-ups for ``PostgresStore``: a thread holding one connection in ``LISTEN``.

Every write transition that can make work due sends ``pg_notify(channel,
"<store instance> <earliest due time>")`` inside its transaction (delivered on
commit). The listener ignores its own store's notifications, counts the others
in ``version`` (what ``PostgresStore.data_version`` returns) and calls the
subscriber with the due time so the node's scheduler wakes at once.

A dropped connection (server restart, failover, ``pg_terminate_backend``) is
noticed by the blocking wait; the listener then reports itself disconnected —
``data_version`` changes on every call, so the node polls on each scheduler
tick — and reconnects with a back-off, re-issues ``LISTEN``, and wakes the
subscriber once (notifications sent while it was away are lost, so everything
is looked at again).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["Listener", "Wakeups"]

log = logging.getLogger("actors")


class Listener:
    """``LISTEN`` on ``channel`` in a daemon thread until :meth:`stop`.

    Args:
        dsn, connect_kwargs: how to connect (as the store's pool does).
        channel: the notification channel of the store's schema.
        instance: the store instance id; notifications carrying it are its own.
        on_wake: called (in the listener thread) with a due time, or None for
            "anything may have changed" (after a reconnect).
        retry: seconds before reconnecting; doubles up to ``max_retry``.
    """

    def __init__(self, dsn: str, connect_kwargs: dict[str, Any], channel: str, instance: str,
                 on_wake: Callable[[float | None], None], *, retry: float = 0.5, max_retry: float = 5.0) -> None:
        self._dsn = dsn
        self._kwargs = connect_kwargs
        self._channel = channel
        self._instance = instance
        self._on_wake = on_wake
        self._retry = retry
        self._max_retry = max(retry, max_retry)
        self._stop = threading.Event()
        self.connected = False
        self.version = 0
        self.notifications = 0
        self.reconnects = 0
        self.backend_pid: int | None = None
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="actors-pg-listen", daemon=True)
        self._thread.start()

    def health(self) -> dict[str, Any]:
        """Connected or not, reconnects, notifications seen, the backend pid, the last error."""
        return {"connected": self.connected, "reconnects": self.reconnects, "notifications": self.notifications,
                "backend_pid": self.backend_pid, "last_error": self.last_error}

    def _run(self) -> None:
        delay = self._retry
        first = True
        while not self._stop.is_set():
            try:
                conn = psycopg.connect(self._dsn, autocommit=True, **self._kwargs)
            except psycopg.Error as exc:
                self._lost(exc)
                self._stop.wait(delay)
                delay = min(delay * 2, self._max_retry)
                continue
            try:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                self.backend_pid = conn.info.backend_pid
                self.connected = True
                delay = self._retry
                if not first:
                    self.reconnects += 1
                    log.info("PostgreSQL listener reconnected (LISTEN %s)", self._channel)
                self.version += 1
                self._wake(None)  # whatever was notified while we were away
                first = False
                while not self._stop.is_set():
                    for notify in conn.notifies(timeout=0.5):
                        self._received(notify.payload)
            except psycopg.Error as exc:
                if not self._stop.is_set():
                    self._lost(exc)
                    self._stop.wait(delay)
                    delay = min(delay * 2, self._max_retry)
            finally:
                conn.close()
        self.connected = False

    def _received(self, payload: str) -> None:
        instance, _, due = payload.partition(" ")
        if instance == self._instance:
            return
        self.notifications += 1
        self.version += 1
        try:
            when = float(due) if due else None
        except ValueError:
            when = None
        self._wake(when)

    def _wake(self, when: float | None) -> None:
        try:
            self._on_wake(when)
        except Exception:  # a subscriber's failure must not end the listener
            log.exception("PostgreSQL listener: the wake-up callback failed")

    def _lost(self, exc: BaseException) -> None:
        was = self.connected
        self.connected = False
        self.last_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        if was:
            log.warning("PostgreSQL listener lost its connection (%s); polling until it is back",
                        self.last_error)

    def stop(self) -> None:
        """Stop listening and close the connection (waits briefly for the thread)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=3.0)
        self.connected = False



class Wakeups:
    """``PostgresStore``'s wake-up capabilities (``Subscribable``, ``DataVersioned``,
    ``ListenerHealth``): a ``pg_notify`` per committed write, one ``Listener`` per store."""

    _lock: threading.RLock
    _dsn: str
    _connect_kwargs: dict[str, Any]
    _channel: str
    _instance: str
    _listener: Listener | None
    _listen_retry: float
    _unheard: int

    def _announce(self, conn: psycopg.Connection[Any], due: float | None) -> None:
        """Tell listening nodes (on commit) that work may be due at ``due`` (None: now)."""
        conn.execute("SELECT pg_notify(%s, %s)", (self._channel, f"{self._instance} {'' if due is None else due}"))

    def subscribe(self, on_wake: Callable[[float | None], None]) -> None:
        """Call ``on_wake(due)`` when another store instance commits work due at ``due``.

        Starts the ``LISTEN`` thread (once; re-listens after a dropped connection,
        first waiting ``listen_retry`` seconds). While it is disconnected ``data_version``
        changes on every call, so the node falls back to polling.
        """
        with self._lock:
            if self._listener is None:
                self._listener = Listener(self._dsn, self._connect_kwargs, self._channel, self._instance,
                                          on_wake, retry=self._listen_retry)

    def data_version(self) -> int:
        """Changes when another store instance committed work (a notification arrived).

        Without a connected listener (not subscribed, or reconnecting) it changes on
        every call: the caller cannot tell, so it must look.
        """
        listener = self._listener
        if listener is None or not listener.connected:
            self._unheard -= 1
            return self._unheard
        return listener.version

    def listener_health(self) -> dict[str, Any] | None:
        """The listener's state (connected, reconnects, notifications, backend_pid), or None."""
        listener = self._listener
        return None if listener is None else listener.health()
