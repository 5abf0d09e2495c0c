"""How a slice of work runs: bounded parallelism, in-place retries, ``on_exhausted``.

ELIZA_SPEC §4. One engine, written for asyncio: :meth:`BatchProcessor.arun` is the
implementation and :meth:`BatchProcessor.run` drives it on a private event loop.

- a plain ``process``: each call runs on a worker thread of a per-run pool, at
  most ``max_parallel`` at once (the :class:`Semaphore`), for ``run`` and ``arun``
  alike;
- an ``async def`` ``process``: awaited on the caller's loop by ``arun``, and on a
  fresh loop in the calling thread (``asyncio.run``) by ``run``.

``run`` refuses to block inside a running event loop (it raises RuntimeError
and points at ``arun``): blocking the loop would stall the very coroutines it
waits for. Retries never re-queue an item: it is retried in place, then the run
moves on (the seed's "why not push failures back" note).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import numbers
import random
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._calls import Reporter, call_maybe_async, is_async_callable, log_error, report, run_blocking
from ._semaphore import Semaphore, normalize_permits

__all__ = [
    "BatchProcessor",
    "ItemOutcome",
    "Reporter",
    "RetryPolicy",
    "call_maybe_async",
    "log_error",
    "report",
    "run_blocking",
]

T = TypeVar("T")

logger = logging.getLogger("actors.batch")

#: Seed defaults (ms in the seed; seconds here).
DEFAULT_RETRIES_AFTER_FAILURE = 3
DEFAULT_MIN_DELAY = 0.3
DEFAULT_MAX_DELAY = 30.0


class _Escalated(Exception):
    """Carries a non-``Exception`` (KeyboardInterrupt, SystemExit, ...) out of an item's task."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _js_round(value: float) -> int:
    """JavaScript ``Math.round`` (halves go up), which the seed's delays use."""
    return math.floor(value + 0.5)


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off between the attempts of one item (the seed's ``RetryConfig``, in seconds).

    The delay after failed attempt ``n`` is
    ``min(max_delay, round_ms(min_delay * 2 ** (n - 1) * (1 + jitter * rng.random())))``,
    rounded to whole milliseconds as in the seed: 0.3, 0.6, 1.2 s by default.

    Values are clamped when a processor resolves them, never rejected (the seed's
    ``resolveRetryConfig``): a non-finite or non-number field takes the default;
    ``attempts`` is rounded and at least 1, ``min_delay >= 0``,
    ``max_delay >= min_delay`` and ``jitter`` in ``[0, 1]``.

    Args:
        attempts: attempts in all; None means ``max_retries_after_failure + 1``.
        min_delay: seconds before the first retry (default 0.3).
        max_delay: cap on any delay (default 30).
        jitter: extra random share of the delay, 0 to 1 (default 0).
    """

    attempts: int | None = None
    min_delay: float = DEFAULT_MIN_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    jitter: float = 0.0


@dataclass(frozen=True)
class _Backoff:
    attempts: int
    min_ms: int
    max_ms: int
    jitter: float

    @classmethod
    def resolve(cls, policy: RetryPolicy | None, default_attempts: int) -> _Backoff:
        policy = policy or RetryPolicy()
        attempts = _finite(policy.attempts)
        min_delay = _finite(policy.min_delay)
        max_delay = _finite(policy.max_delay)
        jitter = _finite(policy.jitter)
        resolved_attempts = default_attempts if attempts is None else max(1, _js_round(max(attempts, 1.0)))
        min_delay = DEFAULT_MIN_DELAY if min_delay is None else max(0.0, min_delay)
        max_delay = DEFAULT_MAX_DELAY if max_delay is None else max(0.0, max_delay)
        min_ms = _js_round(1000 * min_delay)
        max_ms = max(min_ms, _js_round(1000 * max_delay))
        return cls(resolved_attempts, min_ms, max_ms, min(1.0, max(0.0, jitter or 0.0)))

    def delay_ms(self, attempt: int, rng: random.Random) -> int:
        exponent = min(max(attempt - 1, 0), 1000)  # 2.0 ** 1000 is still finite
        raw = self.min_ms * 2.0**exponent
        if self.jitter > 0:
            raw *= 1 + self.jitter * rng.random()
        if not math.isfinite(raw) or raw >= self.max_ms:
            return self.max_ms
        return min(self.max_ms, _js_round(raw))


@dataclass(frozen=True)
class ItemOutcome(Generic[T]):
    """What happened to one item.

    Attributes:
        item: the item, as given.
        success: True when an attempt returned without raising.
        error: the last exception when ``success`` is False, else None.
        retry_count: failed attempts that were followed by another attempt.
    """

    item: T
    success: bool
    error: Exception | None = None
    retry_count: int = 0


def _per_item_attempts(item: object) -> int | None:
    """``_batch_max_attempts`` (attribute or key), or the seed's ``_batchMaxAttempts`` key."""
    if isinstance(item, Mapping):
        raw = item.get("_batch_max_attempts", item.get("_batchMaxAttempts"))
    else:
        raw = getattr(item, "_batch_max_attempts", None)
    value = _finite(raw)
    if value is None or value < 1:
        return None
    return math.floor(value)


class BatchProcessor(Generic[T]):
    """Runs every item of a slice through ``process`` with bounded parallelism and retries.

    All items start together and queue FIFO for a permit of one :class:`Semaphore`
    (shared by every run of this processor), so at most ``max_parallel`` calls of
    ``process`` run at once. Per item:

    1. Take a permit and call ``process(item)``. Success → ``ItemOutcome(item,
       True, None, retry_count)``.
    2. An ``Exception`` makes the item exhausted when ``attempt >= max_attempts``
       or ``should_retry(item, error, attempt)`` is falsy; ``should_retry`` is not
       called on the last attempt. Otherwise ``retry_count`` grows.
    3. The permit is released before any sleep or callback.
    4. Exhausted → ``on_exhausted(item, error)`` (awaited when async; its errors
       are reported and ignored) and ``ItemOutcome(item, False, error,
       retry_count)``.
    5. Else sleep :meth:`backoff_delay` seconds (skipped when 0) and go to 1.

    ``BaseException``\\ s that are not ``Exception`` (KeyboardInterrupt,
    SystemExit, CancelledError) are never retried: they propagate out of
    ``run``/``arun`` and the other items are cancelled.

    Attempts per item: ``_batch_max_attempts`` — an attribute, or a key of a
    mapping item (the seed's ``_batchMaxAttempts`` key is accepted too) — when it
    is a finite number >= 1, else the policy's attempts; then capped by
    ``max_attempts_cap``; at least 1. Fractional values are floored (the seed
    compares floats and, for 2.5, silently ends with a failure it never hands to
    ``on_exhausted``).

    Args:
        process: ``process(item)``, a plain or ``async def`` function; raising
            means failure.
        max_parallel: concurrent ``process`` calls (normalised like Semaphore
            permits; default 10, the seed's BatchQueue default).
        max_retries_after_failure: retries after the first failure (default 3, so
            4 attempts); ignored when ``retry_policy.attempts`` is set.
        retry_policy: back-off, see :class:`RetryPolicy`.
        max_attempts_cap: upper bound on any item's attempts (None: no cap).
        should_retry: ``should_retry(item, error, attempt) -> bool``; default:
            always. If it raises, the error is reported and the item is not
            retried (the seed lets it reject the whole batch).
        on_exhausted: ``on_exhausted(item, error)``, plain or async.
        sleep: the back-off wait, ``sleep(seconds)``, plain or async. Default:
            ``asyncio.sleep`` on the run's loop for both ``run`` and ``arun`` — a
            retry waits without holding a thread. A plain function is called on
            a worker thread, so a blocking ``time.sleep`` is fine; tests pass a
            recorder and never wait.
        rng: source of jitter (default: a fresh ``random.Random``).
        reporter: ``report_error(where, error, context)`` for callback failures
            (default: log at ERROR on ``actors.batch``).

    Example:
        >>> delays = []
        >>> def flaky(n):
        ...     if n == 2 and len(delays) < 1:
        ...         raise ValueError("once")
        >>> outcomes = BatchProcessor(flaky, max_parallel=2, sleep=delays.append).run([1, 2])
        >>> [(o.item, o.success, o.retry_count) for o in outcomes], delays
        ([(1, True, 0), (2, True, 1)], [0.3])
    """

    def __init__(
        self,
        process: Callable[[T], Any],
        *,
        max_parallel: float = 10,
        max_retries_after_failure: float = DEFAULT_RETRIES_AFTER_FAILURE,
        retry_policy: RetryPolicy | None = None,
        max_attempts_cap: float | None = None,
        should_retry: Callable[[T, Exception, int], bool] | None = None,
        on_exhausted: Callable[[T, Exception], Any] | None = None,
        sleep: Callable[[float], Any] | None = None,
        rng: random.Random | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self._process = process
        self._max_parallel = normalize_permits(max_parallel)
        retries = _finite(max_retries_after_failure)
        retries = DEFAULT_RETRIES_AFTER_FAILURE if retries is None else retries
        self._backoff = _Backoff.resolve(retry_policy, max(1, _js_round(retries + 1)))
        cap = _finite(max_attempts_cap)
        self._cap = None if cap is None else max(1, math.floor(cap))
        self._should_retry = should_retry
        self._on_exhausted = on_exhausted
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._reporter = reporter
        self._semaphore = Semaphore(self._max_parallel)

    @property
    def max_parallel(self) -> int:
        """Concurrent ``process`` calls allowed, after normalisation."""
        return self._max_parallel

    @property
    def default_max_attempts(self) -> int:
        """Attempts for an item without its own ``_batch_max_attempts`` (before the cap)."""
        return self._backoff.attempts

    @property
    def semaphore(self) -> Semaphore:
        """The semaphore every run of this processor shares."""
        return self._semaphore

    def attempts_for(self, item: T) -> int:
        """How many attempts ``item`` gets: its override or the default, capped, at least 1."""
        attempts = _per_item_attempts(item) or self._backoff.attempts
        if self._cap is not None:
            attempts = min(attempts, self._cap)
        return max(1, attempts)

    def backoff_delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based), whole milliseconds."""
        return self._backoff.delay_ms(attempt, self._rng) / 1000

    def run(self, items: Iterable[T]) -> list[ItemOutcome[T]]:
        """Process ``items`` and block until each has an outcome; outcomes in input order.

        Raises:
            RuntimeError: called from a thread that is running an event loop.
        """
        batch = list(items)
        if not batch:
            return []
        return run_blocking(lambda: self.arun(batch), "BatchProcessor.run()", "BatchProcessor.arun()")

    async def arun(self, items: Iterable[T]) -> list[ItemOutcome[T]]:
        """Process ``items`` on the running loop; outcomes in input order."""
        batch = list(items)
        if not batch:
            return []
        # Threads are made on demand: at most max_parallel run `process`, the rest
        # serve items that are in a plain sleep or callback, off-permit.
        executor = ThreadPoolExecutor(max_workers=len(batch), thread_name_prefix="actors-batch")
        tasks = [asyncio.ensure_future(self._one(item, executor)) for item in batch]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException as exc:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if isinstance(exc, _Escalated):
                raise exc.error from None
            raise
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    async def _one(self, item: T, executor: ThreadPoolExecutor) -> ItemOutcome[T]:
        try:
            return await self._attempts(item, executor)
        except (asyncio.CancelledError, Exception):
            raise
        except BaseException as exc:  # never retried; arun re-raises the original
            raise _Escalated(exc) from None

    async def _attempts(self, item: T, executor: ThreadPoolExecutor) -> ItemOutcome[T]:
        max_attempts = self.attempts_for(item)
        retry_count = 0
        attempt = 0
        while True:
            attempt += 1
            await self._semaphore.acquire_async()
            handed_off = False  # True when a worker thread will release the permit itself
            try:
                if is_async_callable(self._process):
                    await self._process(item)
                else:
                    future: Future[Any] = executor.submit(self._process, item)
                    try:
                        result = await asyncio.wrap_future(future)
                    except asyncio.CancelledError:
                        # The coroutine is abandoned but the thread may still run:
                        # keep the permit taken until it finishes, so max_parallel holds.
                        if not future.cancel():
                            future.add_done_callback(lambda _: self._semaphore.release())
                            handed_off = True
                        raise
                    if inspect.isawaitable(result):
                        await result
            except Exception as exc:
                error = exc
                exhausted = attempt >= max_attempts or not self._ask_should_retry(item, error, attempt)
            else:
                return ItemOutcome(item, True, None, retry_count)
            finally:
                if not handed_off:
                    self._semaphore.release()
            if exhausted:
                await self._exhaust(item, error, executor)
                return ItemOutcome(item, False, error, retry_count)
            retry_count += 1
            delay = self.backoff_delay(attempt)
            if delay > 0:
                if self._sleep is None:
                    await asyncio.sleep(delay)
                else:
                    await call_maybe_async(self._sleep, delay, executor=executor)

    def _ask_should_retry(self, item: T, error: Exception, attempt: int) -> bool:
        if self._should_retry is None:
            return True
        try:
            return bool(self._should_retry(item, error, attempt))
        except Exception as exc:
            report(self._reporter, "BatchProcessor.shouldRetry", exc, {"attempt": attempt})
            return False

    async def _exhaust(self, item: T, error: Exception, executor: ThreadPoolExecutor | None) -> None:
        if self._on_exhausted is None:
            return
        try:
            await call_maybe_async(self._on_exhausted, item, error, executor=executor)
        except Exception as exc:
            report(self._reporter, "BatchProcessor.onExhausted", exc, {"error": repr(error)})
