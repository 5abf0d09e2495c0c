"""The channel between the parent and a child: length-prefixed pickles over a stream
socket (``Wire``), and the shared ``[started, finished]`` counters (``map_counters``).

What ``multiprocessing.connection.Connection`` did for us (``send`` / ``recv`` /
``poll`` / ``close``), without importing ``multiprocessing`` — 1.5 MiB in every
child and in the parent. ``send`` pickles first and writes the whole message
with one ``sendall``, so a message that does not pickle writes nothing; threads
that send on one ``Wire`` must hold a lock of their own (both sides do). The parent
sends with a ``stall`` bound: a child that takes nothing from its end for that long
(stopped by SIGSTOP, frozen) raises ``Stalled`` instead of blocking the sender.
"""

from __future__ import annotations

import mmap
import pickle
import select
import socket
import struct
from typing import Any

__all__ = ["Stalled", "Wire", "map_counters"]

_HEADER = struct.Struct("!Q")


class Stalled(TimeoutError):
    """The other end took nothing for ``stall`` seconds; part of the message may be written
    (the stream is then unusable: the peer is to be treated as dead)."""


class Wire:
    """One end of the parent–child socket pair.

    Raises (from ``recv``): ``EOFError`` once the other end closed; ``OSError`` for
    a broken socket. ``send`` raises ``OSError`` when the other end is gone and
    whatever ``pickle`` raises for an object it cannot pickle.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._poller = select.poll()
        self._poller.register(sock.fileno(), select.POLLIN)

    @classmethod
    def from_fd(cls, fd: int) -> Wire:
        """Wrap an inherited socket file descriptor (the child's end)."""
        return cls(socket.socket(fileno=fd))

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, message: Any, stall: float | None = None) -> None:
        """Write ``message`` whole; with ``stall``, raise ``Stalled`` once the other end has
        taken no byte for ``stall`` seconds (else block until it does)."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if stall is None:
            self._sock.sendall(_HEADER.pack(len(data)) + data)
        else:
            self._send_bounded(memoryview(_HEADER.pack(len(data)) + data), stall)

    def _send_bounded(self, view: memoryview, stall: float) -> None:
        writable = select.poll()
        writable.register(self._sock.fileno(), select.POLLOUT)
        sent = 0
        while sent < len(view):
            try:
                sent += self._sock.send(view[sent:], socket.MSG_DONTWAIT)
            except BlockingIOError:
                if not writable.poll(max(0.0, stall) * 1000):
                    raise Stalled(f"the other end took nothing for {stall:g}s ({sent} of {len(view)} "
                                  "bytes written)") from None

    def recv(self) -> Any:
        (size,) = _HEADER.unpack(self._read(_HEADER.size))
        return pickle.loads(self._read(size))

    def poll(self, timeout: float) -> bool:
        """True when a message (or the end of the stream) is there to read within ``timeout`` s."""
        return bool(self._poller.poll(max(0.0, timeout) * 1000))

    def close(self) -> None:
        self._sock.close()

    def _read(self, size: int) -> bytearray:
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            count = self._sock.recv_into(view[got:])
            if count == 0:
                raise EOFError("the other end closed the connection")
            got += count
        return buffer


def map_counters(fd: int) -> Any:
    """The ``[started, finished]`` int64 pair in the shared memory map ``fd`` (parent and child)."""
    return memoryview(mmap.mmap(fd, 16)).cast("q")
