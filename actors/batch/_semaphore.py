"""A counting semaphore shared by threads and event loops, first come first served.

One waiting line for both worlds: a thread blocked in :meth:`Semaphore.acquire`
and a coroutine suspended in :meth:`Semaphore.acquire_async` queue in the same
FIFO, and :meth:`Semaphore.release` hands the permit straight to the oldest
waiter. That is what lets one ``BatchProcessor`` bound the ``process`` calls of
several concurrent runs, whichever thread or loop each run lives on (ELIZA_SPEC §7).
"""

from __future__ import annotations

import asyncio
import math
import numbers
import threading
from collections import deque
from types import TracebackType

__all__ = ["Semaphore", "normalize_permits"]


def normalize_permits(value: object) -> int:
    """The permit count the seed would use for ``value``.

    A finite real number is floored and raised to at least 1; anything else
    (nan, inf, None, a string, a bool) becomes 1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return 1
    number = float(value)
    if not math.isfinite(number):
        return 1
    return max(1, math.floor(number))


class _Waiter:
    """One place in the line: a thread (``event``) or a coroutine (``loop`` + ``future``)."""

    __slots__ = ("event", "future", "granted", "loop")

    def __init__(
        self,
        event: threading.Event | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        future: asyncio.Future[None] | None = None,
    ) -> None:
        self.event = event
        self.loop = loop
        self.future = future
        self.granted = False


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Semaphore:
    """Limits how many holders run at once; waiters are served in arrival order.

    Permits are normalised like the seed: ``Semaphore(2.9)`` has 2, and
    ``Semaphore(0)``, ``Semaphore(-3)``, ``Semaphore(float("nan"))`` or
    ``Semaphore("4")`` have 1. There is **no upper bound**: a ``release()``
    without an ``acquire()`` raises the count, as in the seed.

    Every acquire must be paired with a release in a ``finally`` (or use the
    context managers: ``with sem:`` / ``async with sem:``).

    Fairness: a free permit is taken at once only when nobody is waiting; a
    release gives its permit to the oldest waiter directly, so a late arrival can
    never overtake the line. A waiter that gives up (a thread's ``timeout``, a
    cancelled coroutine) leaves the line; if the permit was already handed to it,
    it is passed on to the next waiter, never lost.

    Args:
        permits: how many holders may run at once (normalised, see above).

    Example:
        >>> sem = Semaphore(2)
        >>> with sem:
        ...     sem.available_permits
        1
    """

    def __init__(self, permits: float = 1) -> None:
        self._permits = normalize_permits(permits)
        self._waiters: deque[_Waiter] = deque()
        self._lock = threading.Lock()

    @property
    def available_permits(self) -> int:
        """Permits free right now."""
        with self._lock:
            return self._permits

    @property
    def queue_length(self) -> int:
        """Threads and coroutines waiting for a permit."""
        with self._lock:
            return len(self._waiters)

    # -- threads -----------------------------------------------------------------

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a permit, blocking the calling thread until one is handed over.

        Args:
            timeout: seconds to wait at most; None waits forever and ``0`` (or
                less) only tries.

        Returns:
            True once the permit is held; False if ``timeout`` ran out first.
        """
        with self._lock:
            if self._permits > 0 and not self._waiters:
                self._permits -= 1
                return True
            if timeout is not None and timeout <= 0:
                return False
            waiter = _Waiter(event=threading.Event())
            self._waiters.append(waiter)
        assert waiter.event is not None
        if waiter.event.wait(timeout):
            return True
        with self._lock:
            if waiter.granted:  # handed over between the timeout and this lock
                return True
            self._waiters.remove(waiter)
            return False

    def release(self) -> None:
        """Return a permit: to the oldest waiter if any, else to the pool."""
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if self._grant(waiter):
                    return
            self._permits += 1

    def __enter__(self) -> Semaphore:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # -- coroutines --------------------------------------------------------------

    async def acquire_async(self) -> None:
        """Take a permit, suspending the calling coroutine until one is handed over.

        Cancellation while waiting removes the coroutine from the line (or passes
        on a permit it had just been given) and re-raises ``CancelledError``.
        """
        with self._lock:
            if self._permits > 0 and not self._waiters:
                self._permits -= 1
                return
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            waiter = _Waiter(loop=loop, future=future)
            self._waiters.append(waiter)
        try:
            await future
        except BaseException:
            with self._lock:
                granted = waiter.granted
                if not granted and waiter in self._waiters:
                    self._waiters.remove(waiter)
            if granted:
                self.release()
            raise

    async def __aenter__(self) -> Semaphore:
        await self.acquire_async()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<Semaphore available={self.available_permits} waiting={self.queue_length}>"

    def _grant(self, waiter: _Waiter) -> bool:
        """Hand a permit to ``waiter`` (lock held). False when it can no longer take it."""
        if waiter.event is not None:
            waiter.granted = True
            waiter.event.set()
            return True
        assert waiter.loop is not None and waiter.future is not None
        if waiter.future.done():  # cancelled; its coroutine is leaving the line
            return False
        try:
            waiter.loop.call_soon_threadsafe(_wake, waiter.future)
        except RuntimeError:  # its event loop is closed: nobody will ever resume it
            return False
        waiter.granted = True
        return True
