"""One I/O thread for every child of this process (stdlib ``selectors``), and its helpers.

``IOLoop.shared()`` is this process's loop, started on first use: a daemon thread
(``actors-process-io``) that reads every child's socket (``Channel``), finishes the
writes a socket could not take at once, and runs the timers the executors set
(deadlines, kills after a grace, the memory watch, liveness checks). Its callbacks
must never block: anything that may (user code, a kill that waits for SIGTERM, a
child's start) goes to ``IOLoop.helpers``, daemon threads started on demand (an
idle one ends after ``HELPER_IDLE`` s, so a steady node runs none).

Sends never block their caller: ``Channel.send`` writes what the socket takes and
leaves the rest to the loop, which calls ``on_stalled`` once a child took no byte
for ``stall`` seconds (stopped by SIGSTOP, frozen).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import os
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from .wire import Frames

__all__ = ["Channel", "Helpers", "IOLoop", "Timer"]

log = logging.getLogger(__name__)

HELPER_IDLE = 10.0  # an idle helper thread ends after this many seconds
_READ_SIZE = 1 << 16  # one buffer, reused: no allocation per read


class Timer:
    """A callback the loop runs at ``when`` (monotonic) unless cancelled first."""

    __slots__ = ("cancelled", "fn", "when")

    def __init__(self, when: float, fn: Callable[[], None]) -> None:
        self.when, self.fn, self.cancelled = when, fn, False

    def cancel(self) -> None:
        """It will not run (a no-op once it ran)."""
        self.cancelled = True


class Helpers:
    """Daemon threads that run callables which may block; a new one starts when none is idle."""

    def __init__(self, name: str, idle: float = HELPER_IDLE) -> None:
        self._name, self._idle_for = name, idle
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for work that no submitted callable has claimed

    def submit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on a helper thread soon (never in the caller's thread)."""
        with self._lock:
            if self._idle:
                self._idle -= 1
                self._queue.put(fn)
                return
        threading.Thread(target=self._serve, args=(fn,), name=self._name, daemon=True).start()

    def _serve(self, fn: Callable[[], None]) -> None:
        while True:
            try:
                fn()
            except Exception:
                log.exception("a helper task failed")
            with self._lock:
                self._idle += 1
            try:
                fn = self._queue.get(timeout=self._idle_for)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._idle -= 1
                        return
                    fn = self._queue.get_nowait()  # claimed while we timed out


class IOLoop:
    """The selector loop (see the module docstring). Thread-safe: ``call_soon``, ``call_at``."""

    _shared: IOLoop | None = None
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls) -> IOLoop:
        """This process's loop (started on first use)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def __init__(self, name: str = "actors-process-io") -> None:
        self.helpers = Helpers("actors-process-helper")
        self.selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._calls: list[Callable[[], None]] = []
        self._timers: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self.read_buffer = memoryview(bytearray(_READ_SIZE))  # every channel reads into it (one thread)
        self._until: float | None = None  # asleep until then (inf: no timer); None: awake
        self._woken = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def in_loop(self) -> bool:
        return threading.current_thread() is self._thread

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop thread soon."""
        with self._lock:
            self._calls.append(fn)
            wake = self._until is not None and not self._woken
            self._woken = self._woken or wake
        if wake:
            self._wake()

    def call_at(self, when: float, fn: Callable[[], None]) -> Timer:
        """Run ``fn`` on the loop thread at ``when`` (monotonic)."""
        timer = Timer(when, fn)
        with self._lock:
            heapq.heappush(self._timers, (when, next(self._order), timer))
            wake = self._until is not None and when < self._until and not self._woken
            self._woken = self._woken or wake
        if wake:
            self._wake()
        return timer

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # its buffer is full of wake-ups already
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        while True:
            try:
                self._once()
            except Exception:  # a bug in a callback must not end every child's I/O
                log.exception("the I/O loop's step failed")

    def _once(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for fn in calls:
            _safely(fn)
        now = time.monotonic()
        due: list[Timer] = []
        with self._lock:
            while self._timers and self._timers[0][0] <= now:
                due.append(heapq.heappop(self._timers)[2])
        for timer in due:
            if not timer.cancelled:
                _safely(timer.fn)
        with self._lock:
            if self._calls:
                return
            while self._timers and self._timers[0][2].cancelled:
                heapq.heappop(self._timers)
            timeout = max(0.0, self._timers[0][0] - time.monotonic()) if self._timers else None
            self._until = float("inf") if timeout is None else time.monotonic() + timeout
        events = self.selector.select(timeout)
        with self._lock:
            self._until, self._woken = None, False
        for key, mask in events:
            if key.data is None:
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    while self._wake_r.recv(4096):
                        pass
            else:
                _safely(functools.partial(key.data.ready, mask))


class Channel:
    """The parent's end of one child's socket, served by the loop.

    Args:
        loop: the loop that serves it.
        sock: the socket (made non-blocking here).
        on_messages: ``on_messages(messages)`` on the loop thread, in order, for each read.
        on_closed: ``on_closed()`` once, on the loop thread, when the stream ends or breaks
            (or ``close`` is called).
        on_stalled: ``on_stalled()`` once, on the loop thread, when a pending write made no
            progress for its ``stall`` seconds.
    """

    def __init__(self, loop: IOLoop, sock: socket.socket, on_messages: Callable[[list[Any]], None],
                 on_closed: Callable[[], None], on_stalled: Callable[[], None]) -> None:
        self._loop, self._sock = loop, sock
        self._on_messages, self._on_closed, self._on_stalled = on_messages, on_closed, on_stalled
        sock.setblocking(False)
        self._frames = Frames()
        self._lock = threading.Lock()  # the pending bytes; taken by senders and the loop
        self._out = bytearray()
        self._progress_at = 0.0  # the last time a pending write moved (monotonic)
        self._stall = 0.0
        self._stalled = False
        self._closed = False
        self._watching_write = False
        loop.call_soon(self._register)

    def send(self, data: bytes, stall: float) -> None:
        """Queue ``data`` (a whole frame) after what is pending; write what the socket takes now.
        Never blocks; a channel closed or broken drops it (its death is reported on its own)."""
        with self._lock:
            if self._closed or self._stalled:
                return
            if not self._out:
                try:
                    sent = self._sock.send(data)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    return  # the child is gone: the loop sees the end of its stream
                if sent == len(data):
                    return
                data = data[sent:]
                self._progress_at = time.monotonic()
            self._stall = stall
            self._out += data
        self._loop.call_soon(self._want_write)

    def close(self) -> None:
        """Stop serving it and close the socket (on the loop thread); ``on_closed`` runs."""
        self._loop.call_soon(self._end)

    def drain_and_close(self) -> None:
        """Read what the other end wrote before it died, then close (on the loop thread)."""
        self._read(until_empty=True)
        self._end()

    # --- on the loop thread ------------------------------------------------------------

    def _register(self) -> None:
        if not self._closed:
            self._loop.selector.register(self._sock, selectors.EVENT_READ, self)

    def ready(self, mask: int) -> None:
        if mask & selectors.EVENT_READ:
            self._read(until_empty=False)
        if mask & selectors.EVENT_WRITE and not self._closed:
            self._write()

    def _read(self, *, until_empty: bool) -> None:
        buffer = self._loop.read_buffer
        while not self._closed:
            try:
                count = self._sock.recv_into(buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                count = 0
            if not count:
                self._end()
                return
            try:
                messages = self._frames.feed(buffer[:count])
            except Exception:
                log.exception("a child sent a message that does not unpickle; treating it as dead")
                self._end()
                return
            if messages:
                self._on_messages(messages)
            if not until_empty and count < _READ_SIZE:
                return

    def _want_write(self) -> None:
        with self._lock:
            if self._closed or not self._out or self._watching_write:
                return
            self._watching_write = True
            check = self._progress_at + self._stall
        self._loop.selector.modify(self._sock, selectors.EVENT_READ | selectors.EVENT_WRITE, self)
        self._loop.call_at(check, self._check_stall)

    def _write(self) -> None:
        with self._lock:
            try:
                sent = self._sock.send(self._out)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._out.clear()
                sent = 0
            if sent:
                del self._out[:sent]
                self._progress_at = time.monotonic()
            if self._out:
                return
            self._watching_write = False
        self._loop.selector.modify(self._sock, selectors.EVENT_READ, self)

    def _check_stall(self) -> None:
        with self._lock:
            if self._closed or not self._out:
                return
            late = self._progress_at + self._stall
            stalled = time.monotonic() >= late
            if stalled:
                self._stalled = True
                self._out.clear()
        if stalled:
            self._on_stalled()
        else:
            self._loop.call_at(late, self._check_stall)

    def _end(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._out.clear()
        with contextlib.suppress(KeyError, ValueError):
            self._loop.selector.unregister(self._sock)
        self._sock.close()
        self._on_closed()


def _safely(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:
        log.exception("an I/O loop callback failed")


def _forget_after_fork() -> None:
    IOLoop._shared = None  # the thread did not survive the fork; the child builds its own


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
