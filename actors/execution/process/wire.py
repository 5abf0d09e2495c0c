"""The channel between the parent and a child: length-prefixed pickles over a stream
socket, and the shared ``[started, finished, started at]`` counters (``map_counters``).

``Wire`` is the blocking end the child uses (and the parent, for the handshake only):
what ``multiprocessing.connection.Connection`` did for us (``send`` / ``recv`` / ``poll``
/ ``close``), without importing ``multiprocessing`` — 1.5 MiB in every child and in the
parent. ``send`` pickles first and writes the whole message with one ``sendall``, so a
message that does not pickle writes nothing; threads that send on one ``Wire`` must hold
a lock of their own.

The parent's I/O loop never blocks on a socket: it writes ``frame(message)`` bytes as the
socket takes them and decodes what it reads with ``Frames`` (whole messages out, a partial
one kept for the next read), see ``loop.Channel``.
"""

from __future__ import annotations

import mmap
import pickle
import select
import socket
import struct
from typing import Any

__all__ = ["COUNTERS", "Frames", "Wire", "frame", "map_counters"]

_HEADER = struct.Struct("!Q")
COUNTERS = 3  # int64 slots in the shared map: started seq, finished seq, started at (monotonic ns)


def frame(message: Any) -> bytes:
    """``message`` pickled with its length header (raises whatever ``pickle`` raises)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


class Frames:
    """Decodes a byte stream of frames fed in pieces of any size."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes | memoryview) -> list[Any]:
        """Take ``data`` (copied only when a frame spans two pieces); return the messages now
        complete, in order (raises what ``pickle`` raises for a corrupt frame)."""
        if self._buffer:
            self._buffer += data
            view = memoryview(self._buffer)
        else:
            view = memoryview(data)
        out: list[Any] = []
        start, total = 0, len(view)
        while total - start >= _HEADER.size:
            (size,) = _HEADER.unpack_from(view, start)
            end = start + _HEADER.size + size
            if total < end:
                break
            out.append(pickle.loads(view[start + _HEADER.size:end]))
            start = end
        rest = bytes(view[start:]) if start < total else b""
        view.release()
        self._buffer = bytearray(rest)
        return out


class Wire:
    """One blocking end of the parent–child socket pair.

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

    @property
    def sock(self) -> socket.socket:
        return self._sock

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, message: Any) -> None:
        """Write ``message`` whole (blocks until the other end has taken it)."""
        self._sock.sendall(frame(message))

    def recv(self) -> Any:
        (size,) = _HEADER.unpack(self._read(_HEADER.size))
        return pickle.loads(self._read(size))

    def poll(self, timeout: float | None) -> bool:
        """True when a message (or the end of the stream) is there to read within ``timeout`` s
        (None: wait as long as it takes)."""
        return bool(self._poller.poll(None if timeout is None else max(0.0, timeout) * 1000))

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
    """The ``[started, finished, started at]`` int64 slots in the shared map ``fd`` (parent and child)."""
    return memoryview(mmap.mmap(fd, COUNTERS * 8)).cast("q")
