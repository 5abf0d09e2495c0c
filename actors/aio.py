"""asyncio: ``actors.AsyncSupervisor``, the async view of a node (agents embed the node in
their event loop).

Every public method of ``Supervisor`` is a coroutine of the same name and arguments here,
generated from the ``Supervisor`` class (so a method added to it later is covered): the
blocking call runs in a bounded thread pool owned by the view (``max_threads``), never on the
event loop, and the pool closes with the view. Two are not a thread's wait: ``wait`` awaits
the future the node resolves when the task settles (no thread held, no polling), and
``events`` is an async iterator fed from the node's event thread.

Start one with ``async with actors.AsyncSupervisor.start("tasks.db", workers=2) as sup:``
(the node stops when the block ends), or take ``sup.aio`` of a started ``Supervisor``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .aio_pool import ThreadPool
from .errors import ActorsError, NodeStopped, Timeout, ValidationError
from .feed.event import Event
from .runtime.handle import Supervisor
from .runtime.waiters import result_of
from .spec import check_task_id

__all__ = ["MAX_THREADS", "AsyncSupervisor"]

#: Threads of an async view's pool (its blocking calls at once; more wait their turn).
MAX_THREADS = 4
#: Events an ``events()`` iterator holds for a slow consumer before it drops (counted).
EVENTS_BUFFER = 1_000

_END = object()  # the node stopped: an ``events()`` iterator ends


class AsyncSupervisor:
    """The async view of a running node: ``await sup.create_task(...)``, ``await sup.wait(id)``.

    Args:
        sup: the node (a started ``Supervisor``).
        max_threads: size of the view's thread pool (its blocking calls at once).

    The pool is closed by :meth:`stop` (which stops the node) or :meth:`close` (the view
    only). ``sync`` is the ``Supervisor`` behind the view.
    """

    def __init__(self, sup: Supervisor, *, max_threads: int = MAX_THREADS) -> None:
        if isinstance(max_threads, bool) or not isinstance(max_threads, int) or max_threads < 1:
            raise ValidationError("max_threads", max_threads, "must be an int >= 1")
        self.sync = sup
        self._pool = ThreadPool(max_threads, "actors-aio")
        self._closed = False
        self.dropped = 0  # events an ``events()`` consumer was too slow for

    if TYPE_CHECKING:  # the generated coroutines (one per public method of ``Supervisor``)
        def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]: ...

    # --- starting and stopping -------------------------------------------------------------

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> _Starting:
        """``Supervisor.start``'s arguments; use as ``async with AsyncSupervisor.start(...) as sup:``
        (the node stops when the block ends) or ``sup = await AsyncSupervisor.start(...)``.
        Starting the node (opening the store, spawning the pool) runs off the event loop."""
        return _Starting(cls, args, kwargs)

    async def stop(self, timeout: float = 10.0) -> None:
        """``Supervisor.stop`` (off the loop), then the view's pool closes. Idempotent."""
        if self._closed:
            self.sync.stop(timeout)  # (a no-op once stopped; a view closed alone stops it here)
            return
        try:
            await self._call(self.sync.stop, timeout)
        finally:
            self.close()

    def close(self) -> None:
        """Close the view's thread pool (the node keeps running; later calls raise
        ``ActorsError``, ``NodeStopped`` once the node stopped). Idempotent."""
        self._closed = True
        self._pool.close()

    async def __aenter__(self) -> AsyncSupervisor:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # --- the calls that are not a thread's wait ------------------------------------------------

    async def wait(self, task_id: str, timeout: float | None = None) -> Any:
        """``Supervisor.wait``: woken by the node when the task settles (no thread is held).

        Raises:
            TaskNotFound, TaskFailed, TaskCancelled: as ``Supervisor.wait``. Timeout: ``timeout``
            seconds passed.
        """
        task_id = check_task_id(task_id)
        future = self.sync._watch(task_id)
        try:
            settled = await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except asyncio.TimeoutError:
            self.sync._unwatch(task_id, future)
            raise Timeout(f"task {task_id} did not finish within {timeout}s") from None
        return result_of(task_id, settled)

    async def events(self, kinds: str | Iterable[str] | None = None, *,
                     buffer: int = EVENTS_BUFFER) -> AsyncGenerator[Event, None]:
        """``async for event in sup.events():`` the node's events (``Supervisor.subscribe``),
        of the kinds in ``kinds`` (None: all). Past ``buffer`` events waiting for this consumer
        the newest are dropped (counted in ``dropped``). Ends when the node stops."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def put(item: Any) -> None:  # on the loop
            if item is not _END and queue.qsize() >= buffer:
                self.dropped += 1
                return
            queue.put_nowait(item)

        def push(item: Any) -> None:  # on the node's event thread
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(put, item)

        unsubscribe = self.sync.subscribe(push, kinds)
        forget = self.sync._bus.on_close(lambda: push(_END))
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                yield item
        finally:
            forget()
            unsubscribe()

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._closed:
            if self.sync._stopped:
                raise NodeStopped()
            raise ActorsError("this async view is closed (AsyncSupervisor.close)")
        # the caller's context goes with the call (an OpenTelemetry span of the caller's task reaches a create)
        context = contextvars.copy_context()
        return await asyncio.wrap_future(self._pool.submit(functools.partial(context.run, fn, *args, **kwargs)))


class _Starting:
    """What ``AsyncSupervisor.start`` returns: awaitable, and an async context manager."""

    def __init__(self, cls: type[AsyncSupervisor], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._cls, self._args, self._kwargs = cls, args, kwargs
        self._view: AsyncSupervisor | None = None

    async def _start(self) -> AsyncSupervisor:
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="actors-aio-start") as pool:
            sup = await loop.run_in_executor(pool, functools.partial(Supervisor.start, *self._args, **self._kwargs))
        view = sup.aio
        if self._cls is not AsyncSupervisor:
            view = self._cls(sup)
        return view

    def __await__(self) -> Generator[Any, None, AsyncSupervisor]:
        return self._start().__await__()

    async def __aenter__(self) -> AsyncSupervisor:
        self._view = await self._start()
        return self._view

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._view is not None:
            await self._view.stop()


def public_methods(cls: type) -> set[str]:
    """The public methods of a class (what an async view must mirror)."""
    return {name for name, value in inspect.getmembers(cls) if not name.startswith("_") and callable(value)}


def _coroutine(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def call(self: AsyncSupervisor, *args: Any, **kwargs: Any) -> Any:
        return await self._call(getattr(self.sync, name), *args, **kwargs)

    call.__doc__ = f"``await`` form of ``Supervisor.{name}`` (run in the view's thread pool).\n\n" + (
        inspect.getdoc(method) or "")
    return call


for _name in sorted(public_methods(Supervisor) - set(vars(AsyncSupervisor))):
    setattr(AsyncSupervisor, _name, _coroutine(_name, getattr(Supervisor, _name)))
