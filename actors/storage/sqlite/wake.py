"""Wake-ups between processes sharing one SQLite file (SQLite has no LISTEN/NOTIFY).

A serving node ``listen``s: it binds a Unix datagram socket in the folder
``<database>-wake/`` beside the file, and a thread calls ``on_wake(due)`` for
each datagram (several waiting at once are folded into one call with the
earliest due time). Any store on the same file that commits work due at
``due`` ``send``s one 8-byte datagram to every socket in that folder but its
own, after the commit, so the node claims at once instead of at its next poll
(``poll_interval``, 0.1 s).

Best effort by design: a datagram that cannot be delivered (a full receive
buffer, a listener that just exited) is dropped, and the polling of ``PRAGMA
data_version`` still finds the work. A socket whose owner died (the send is
refused) is removed. The folder listing is cached for ``refresh`` seconds, so
a listener that starts later is found within that time. Unix only; where
sockets are unavailable or the path is too long for one, nothing is sent or
heard and the node polls as before.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import struct
import threading
import time
from collections.abc import Callable

__all__ = ["WakeBus"]

log = logging.getLogger(__name__)

_NOW = math.nan  # the payload for "due now"
_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


class WakeBus:
    """The wake-up sockets of one SQLite file.

    Args:
        database: the SQLite file's path (``":memory:"``: a bus that does nothing).
        refresh: seconds a listing of the listeners is reused by ``send``.
    """

    def __init__(self, database: str, *, refresh: float = 0.5) -> None:
        usable = database != ":memory:" and hasattr(socket, "AF_UNIX")
        self.folder = f"{os.path.abspath(database)}-wake" if usable else None
        self._refresh = refresh
        self._lock = threading.Lock()
        self._targets: list[str] = []
        self._listed_at = -math.inf
        self._sender: socket.socket | None = None
        self._own: str | None = None
        self._inbox: socket.socket | None = None
        self.heard = 0

    # --- sending ---------------------------------------------------------------------

    def send(self, due: float | None) -> None:
        """Tell every listener but ourselves that work is due at ``due`` (None: now)."""
        if self.folder is None:
            return
        payload = struct.pack("!d", _NOW if due is None else due)
        with self._lock:
            targets = self._listeners()
            if not targets:
                return
            if self._sender is None:
                self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sender.setblocking(False)
            for target in targets:
                try:
                    self._sender.sendto(payload, target)
                except (BlockingIOError, InterruptedError):
                    pass  # its buffer is full: it has wake-ups to read already
                except (ConnectionRefusedError, FileNotFoundError):
                    self._forget(target)
                except OSError as exc:
                    log.debug("wake-up to %s failed: %s", target, exc)

    def _listeners(self) -> list[str]:
        now = time.monotonic()
        if now - self._listed_at >= self._refresh:
            assert self.folder is not None
            try:
                names = os.listdir(self.folder)
            except OSError:
                names = []
            self._targets = [path for name in names if (path := os.path.join(self.folder, name)) != self._own]
            self._listed_at = now
        return self._targets

    def _forget(self, target: str) -> None:
        """Nobody is bound to ``target`` any more (its process died): remove it."""
        with contextlib.suppress(ValueError):
            self._targets.remove(target)
        with contextlib.suppress(OSError):
            os.unlink(target)

    # --- listening -------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        return self._inbox is not None

    @property
    def own(self) -> str | None:
        """This process's socket path, while listening."""
        return self._own

    def listen(self, on_wake: Callable[[float | None], None]) -> bool:
        """Bind this process's socket and call ``on_wake(due)`` from a thread for each
        wake-up. Returns False (and the node keeps polling) where that is impossible."""
        if self.folder is None or self._inbox is not None:
            return self._inbox is not None
        path = os.path.join(self.folder, f"{os.getpid()}-{os.urandom(4).hex()}")
        if len(path.encode()) > _PATH_MAX:
            log.info("no wake-ups for %s: the path is too long for a socket; polling instead", self.folder)
            return False
        inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            os.makedirs(self.folder, exist_ok=True)
            inbox.bind(path)
        except OSError as exc:
            inbox.close()
            log.info("no wake-ups for %s (%s); polling instead", self.folder, exc)
            return False
        with self._lock:
            self._own, self._inbox = path, inbox
            self._listed_at = -math.inf
        threading.Thread(target=self._serve, args=(inbox, on_wake), name="actors-sqlite-wake",
                         daemon=True).start()
        return True

    def _serve(self, inbox: socket.socket, on_wake: Callable[[float | None], None]) -> None:
        while True:
            try:
                payloads = [inbox.recv(64)]
                if not payloads[0]:
                    return  # shut down by close()
                inbox.setblocking(False)
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    while True:  # fold what else is waiting into one wake-up
                        payloads.append(inbox.recv(64))
                inbox.setblocking(True)
            except OSError:
                return  # closed
            dues = [struct.unpack("!d", p)[0] for p in payloads if len(p) == 8]
            self.heard += len(payloads)
            due = None if not dues or any(math.isnan(d) for d in dues) else min(dues)
            try:
                on_wake(due)
            except Exception:
                log.exception("wake-up callback failed")

    def close(self) -> None:
        """Stop listening (our socket file is removed) and sending. Idempotent."""
        with self._lock:
            inbox, own, sender = self._inbox, self._own, self._sender
            self._inbox = self._own = self._sender = None
        for sock in (inbox, sender):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        if own is not None:
            with contextlib.suppress(OSError):
                os.unlink(own)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(own))  # only if no other listener is left
