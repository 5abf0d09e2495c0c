"""Starting a child process (stdlib and kernel only): ``start_child`` runs a fresh interpreter
on ``child.boot`` and waits for its handshake; ``ChildProcess`` is the handle the executor keeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, NamedTuple

from ...errors import ChildStartError
from .wire import COUNTERS, Wire, map_counters

__all__ = ["ChildProcess", "ChildStartError", "start_child"]


class ChildProcess:
    """A child started with ``subprocess`` (the part of ``multiprocessing.Process`` we use).

    Not ``multiprocessing``'s ``spawn``: that also starts its resource-tracker process
    (~13 MiB, for semaphores and shared memory our children never create) and makes
    every child import the parent's ``__main__`` script again. The child gets the
    parent's ``sys.path`` and imports only ``actors.execution.process.child`` (and ``wire``).
    """

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid

    @property
    def exitcode(self) -> int | None:
        """The exit code once reaped (negative: the signal), else None."""
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        """Reap the child, waiting at most ``timeout`` seconds."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._popen.kill()


def start_child(*, max_tasks: int | None, flush_interval: float,
                start_timeout: float) -> tuple[ChildProcess, Wire, Any]:
    """Start a child running ``child.child_main`` and wait for its handshake.

    The child is a fresh interpreter (``sys.executable``) that inherits two file
    descriptors: its end of a socket pair (length-prefixed pickles, see ``wire``) and a
    small shared memory map holding the ``[started, finished, started at]`` counters.

    Returns:
        ``(process, the parent's end of the pipe, the shared [started, finished] counters)``.

    Raises:
        ChildStartError: it could not start, died or was not ready in ``start_timeout`` s.
    """
    try:
        shared = _shared_counters()
    except OSError as exc:
        raise _cannot_start(exc) from exc
    try:
        parent_sock, child_sock = socket.socketpair()
    except OSError as exc:
        os.close(shared.fileno())
        raise _cannot_start(exc) from exc
    try:
        fds = (child_sock.fileno(), shared.fileno())
        boot = ("import sys; sys.path[:0] = sys.argv[1:2] and __import__('json').loads(sys.argv[1]); "
                "from actors.execution.process.child import boot; boot(sys.argv[2:])")
        argv = [sys.executable, *_interpreter_flags(), "-c", boot, json.dumps(sys.path),
                str(fds[0]), str(fds[1]), "" if max_tasks is None else str(max_tasks), repr(flush_interval)]
        popen = subprocess.Popen(argv, pass_fds=fds, stdin=subprocess.DEVNULL)
    except Exception as exc:
        parent_sock.close()
        raise _cannot_start(exc) from exc
    finally:
        child_sock.close()  # ours would hide the child's end-of-file
        os.close(shared.fileno())
    process = ChildProcess(popen)
    conn = Wire(parent_sock)
    try:
        _wait_ready(process, conn, start_timeout)
    except BaseException:
        process.kill()
        process.join(5.0)
        conn.close()
        raise
    return process, conn, shared.counters


def _cannot_start(exc: BaseException) -> ChildStartError:
    return ChildStartError(f"cannot start a child process: {type(exc).__name__}: {exc}")


class _Shared(NamedTuple):
    counters: Any  # memoryview of two int64, shared with the child
    fd: int

    def fileno(self) -> int:
        return self.fd


def _shared_counters() -> _Shared:
    """``COUNTERS`` int64 ``[-1, -1, 0]`` in a shared memory map the child inherits as a file descriptor."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("actors-counters", 0)  # Linux: not in any file system
    else:  # pragma: no cover - other POSIX systems
        handle, name = tempfile.mkstemp(prefix="actors-counters-")
        os.unlink(name)
        fd = handle
    os.ftruncate(fd, COUNTERS * 8)
    counters = map_counters(fd)
    counters[0] = counters[1] = -1
    counters[2] = 0
    return _Shared(counters, fd)


def _interpreter_flags() -> list[str]:
    """The parent's interpreter options (``-X``, ``-W``, ``-O`` ...), as ``multiprocessing`` passes them."""
    flags = getattr(subprocess, "_args_from_interpreter_flags", None)
    return list(flags()) if flags is not None else []


def _wait_ready(process: Any, conn: Wire, start_timeout: float) -> None:
    deadline = time.monotonic() + start_timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ChildStartError(f"the child process (pid {process.pid}) was not ready after "
                                  f"{start_timeout:g}s")
        try:
            ready = conn.poll(min(left, 0.1))
            message = conn.recv() if ready else None
        except (EOFError, OSError):
            message, ready = None, False
            process.join(5.0)
        if message is not None and message[0] == "ready":
            return
        if message is not None and message[0] == "failed":
            raise ChildStartError(f"the child process failed to start:\n{message[1]}")
        if not ready and not process.is_alive():
            raise ChildStartError(
                f"the child process exited with code {process.exitcode} before it was ready (its "
                "stderr says why)")
