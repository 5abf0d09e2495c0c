"""Calling user callbacks from the batch stack: plain or ``async def``, and reporting their errors.

``call_maybe_async`` awaits an async callable or runs a plain one on an executor;
``run_blocking`` drives a coroutine on a fresh loop for the blocking entry points;
``report`` hands an error to the caller's reporter (``report_error(where, error, context)``,
where the seed calls ``runtime.reportError``), default :func:`log_error`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

__all__ = ["Reporter", "call_maybe_async", "is_async_callable", "log_error", "report", "run_blocking"]

R = TypeVar("R")

logger = logging.getLogger("actors.batch")

#: ``report_error(where, error, context)``: where the spec calls ``runtime.reportError``.
Reporter = Callable[[str, BaseException, dict[str, Any]], None]


def log_error(where: str, error: BaseException, context: dict[str, Any]) -> None:
    """The default reporter: one ERROR record on the ``actors.batch`` logger."""
    logger.error("%s failed: %r %s", where, error, context, exc_info=error)


def report(reporter: Reporter | None, where: str, error: BaseException, context: dict[str, Any]) -> None:
    """Call ``reporter`` (default :func:`log_error`); a reporter that raises is logged, never raised."""
    try:
        (reporter or log_error)(where, error, context)
    except Exception:
        logger.exception("error reporter failed while reporting %s", where)


def is_async_callable(fn: object) -> bool:
    """True for ``async def`` functions, partials of them and objects with an async ``__call__``."""
    if inspect.iscoroutinefunction(fn):
        return True
    # An instance whose class defines ``async def __call__``.
    return callable(fn) and inspect.iscoroutinefunction(type(fn).__call__)


async def call_maybe_async(
    fn: Callable[..., Any], *args: Any, executor: ThreadPoolExecutor | None = None
) -> Any:
    """Await ``fn(*args)`` if it is async; otherwise run it on ``executor`` (None: the loop's default).

    A plain function that returns an awaitable (a lambda around a coroutine) has
    that awaitable awaited too.
    """
    if is_async_callable(fn):
        return await fn(*args)
    result = await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
    if inspect.isawaitable(result):
        result = await result
    return result


def run_blocking(factory: Callable[[], Coroutine[Any, Any, R]], what: str, instead: str) -> R:
    """Run the coroutine ``factory()`` builds on a fresh event loop and return its result.

    Raises:
        RuntimeError: the calling thread is already running an event loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(f"{what} cannot block inside a running event loop; use 'await {instead}' instead")

    async def boxed() -> tuple[bool, Any]:
        # KeyboardInterrupt / SystemExit are carried out of the loop as values and
        # re-raised here: asyncio special-cases them inside tasks and would leave
        # "exception was never retrieved" noise and half-stopped loops behind.
        try:
            return True, await factory()
        except (asyncio.CancelledError, Exception):
            raise
        except BaseException as exc:
            return False, exc

    ok, value = asyncio.run(boxed())
    if not ok:
        raise value
    return cast(R, value)
