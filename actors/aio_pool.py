"""The async view's thread pool: bounded, its threads started off the event loop.

``concurrent.futures.ThreadPoolExecutor`` starts its threads in ``submit``, on the caller's
thread: on an event loop each start waits for the new thread to take the GIL (up to a switch
interval, 5 ms, more under load), and a burst of calls stalls the loop for the whole ramp.
Here the loop starts at most the first thread; a thread that finds more work waiting and room
in the pool starts the next one itself.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["ThreadPool"]

_STOP = None


class ThreadPool:
    """``submit(fn) -> Future`` on at most ``size`` daemon threads named ``name-N``."""

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None] = \
            queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Run ``fn()`` on a pool thread; its future.

        Raises:
            RuntimeError: the pool is closed.
        """
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is closed")
            self._jobs.put((fn, future))
            first = not self._threads
        if first:
            self._grow()
        return future

    def close(self) -> None:
        """No new work; each thread ends after the work it has (idempotent; does not wait)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            count = len(self._threads)
        for _ in range(count):
            self._jobs.put(_STOP)

    def _grow(self) -> None:
        with self._lock:
            if self._closed or len(self._threads) >= self._size:
                return
            thread = threading.Thread(target=self._run, name=f"{self._name}-{len(self._threads) + 1}", daemon=True)
            self._threads.append(thread)
        thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
                more = not self._jobs.empty() and self._idle == 0
            if job is _STOP:
                return
            if more:
                self._grow()  # work waits and nobody is free: the next thread, started from here
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn()
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
