"""The batch queue (ELIZA_SPEC §6): enqueue → ``drain()`` a batch at a time → process.

In memory; the runtime adds the durable part (:meth:`BatchQueue.start`: a drain task
in the store that calls :meth:`BatchQueue.drain`). Errors raised by callbacks are handed
to a *reporter*, ``report_error(where, error, context)`` — the places the seed calls
``runtime.reportError``. The default logs at ERROR on the ``actors.batch`` logger.
"""

from __future__ import annotations

import inspect
import math
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..clock import Clock, SystemClock
from ..errors import ValidationError
from ._batch_processor import BatchProcessor, ItemOutcome, RetryPolicy
from ._calls import Reporter, report, run_blocking
from ._drain_worker import check_interval as _interval
from ._drain_worker import check_worker_options
from ._pqueue import PriorityQueue, QueueStats
from ._slices import via_process_batch

__all__ = ["BatchQueue", "DrainStats"]

T = TypeVar("T")


@dataclass(frozen=True)
class DrainStats:
    """Handed to ``on_drain_complete`` after a non-empty drain.

    Attributes:
        batch_size: items dequeued by this drain.
        remaining: items still queued when it finished.
        duration: seconds the drain took (by the queue's clock, never negative).
    """

    batch_size: int
    remaining: int
    duration: float


class BatchQueue(Generic[T]):
    """An in-memory queue drained one batch at a time: enqueue, ``drain()``, process.

    ``drain()`` takes up to ``batch_size`` items (high, then normal, then low) and
    processes them through a :class:`BatchProcessor` (``max_parallel``, retries,
    ``on_exhausted``). With ``process_batch`` it instead makes **one** call with
    the whole slice; then:

    - if it raises, the error is reported as ``"BatchQueue.processBatch"`` and
      every item of the slice fails with it;
    - a returned outcome with ``success=False`` fails that item (a missing
      ``error`` becomes ``BatchQueue "<name>" processBatch reported a failed item
      without an error``);
    - each failed item, in batch order: ``should_retry(item, error, 1)`` falsy →
      exhausted now (``on_exhausted``, ``retry_count`` 0); else it goes through
      ``process`` with fresh attempts. Items that succeeded are never rerun, and
      outcomes keep batch order.

    ``process_batch`` must return exactly one :class:`ItemOutcome` per item, in
    order; any other result counts as a batch-wide failure (a TypeError naming
    the problem). The seed silently dropped items whose outcome was missing.

    After a non-empty drain, ``on_drain_batch_outcomes(outcomes)`` and then
    ``on_drain_complete(DrainStats)`` are called; a hook that raises is reported
    (``"BatchQueue.outcomeHook"`` / ``"BatchQueue.completionHook"``) and ignored.

    Callbacks (``process``, ``process_batch``, ``on_exhausted``, ``sleep``, the
    hooks) may be plain or ``async def`` functions; see :class:`BatchProcessor`
    for where each runs. ``drain()``/``dispose()`` block the calling thread;
    ``adrain()``/``adispose()`` are the same on the caller's event loop.

    Durable draining is the runtime's job, not this class's: ``start`` and
    ``update_drain_interval`` (a repeat task in the store whose worker calls
    :meth:`drain`) are added there. ``drain_interval`` and
    ``idle_drain_interval`` are kept here for it: after a drain that returned 0
    the task should wait ``idle_drain_interval``, else ``drain_interval``.

    Args:
        name: the queue's name (the drain task's and worker's name later).
        process: ``process(item)``; raising means failure.
        batch_size: items per drain; values below 1 count as 1 (seed), and a
            fraction is floored.
        drain_interval: seconds between drains while there is work.
        idle_drain_interval: seconds between drains while idle; default
            ``max(5.0, 5 * drain_interval)``.
        get_priority: ``"high" | "normal" | "low"`` per item (default normal).
        process_batch: optional batched call, see above.
        max_parallel: default 10.
        max_retries_after_failure: default 3 (4 attempts).
        retry_policy: see :class:`RetryPolicy`.
        max_size: soft capacity, see :class:`PriorityQueue`.
        on_pressure: see :class:`PriorityQueue`.
        on_overflow_warning: see :class:`PriorityQueue`.
        on_exhausted: ``on_exhausted(item, error)`` once an item gives up.
        on_drain_batch_outcomes: ``hook(outcomes)`` after each non-empty drain
            and after the high-priority flush of :meth:`dispose`.
        on_drain_complete: ``hook(DrainStats)`` after each non-empty drain.
        should_retry: ``should_retry(item, error, attempt) -> bool``.
        drain_high_priority_on_stop: flush high items on :meth:`dispose`
            (default True).
        reporter: ``report_error(where, error, context)``; default: log.
        sleep: the back-off wait, see :class:`BatchProcessor`.
        rng: jitter source.
        clock: time source for ``DrainStats.duration`` (default SystemClock).
        skip_register_worker: :meth:`start` registers no drain worker (another serves the name).
        task_metadata: keys that identify the drain row (and are stored on it).
        task_description: the drain row's description.
        worker_options: ``TaskWorker`` fields for the drain task's worker, forwarded by
            :meth:`start` (see :class:`actors.batch.drain.TaskDrain`): the drain row then runs
            ``on_start`` / ``on_success`` / middleware / ``catch_error`` like any task, as it
            runs the node's ``sup.use`` / ``sup.on`` always. The drain calls :meth:`drain`,
            not a ``ctx``-taking function: its items live in memory, so a durable step
            (``ctx.step``) has nothing to replay after a crash.

    Raises:
        ValidationError: ``name`` is empty, ``batch_size`` is not a finite
            number, an interval is not a finite number > 0, or ``worker_options`` is bad
            (see :class:`actors.batch.drain.TaskDrain`).
    """

    def __init__(
        self,
        name: str,
        process: Callable[[T], Any],
        *,
        batch_size: int,
        drain_interval: float,
        idle_drain_interval: float | None = None,
        get_priority: Callable[[T], str] | None = None,
        process_batch: Callable[[list[T]], Any] | None = None,
        max_parallel: float = 10,
        max_retries_after_failure: float = 3,
        retry_policy: RetryPolicy | None = None,
        max_size: int | None = None,
        on_pressure: Callable[[PriorityQueue[T], T], bool] | None = None,
        on_overflow_warning: Callable[[int, int], None] | None = None,
        on_exhausted: Callable[[T, Exception], Any] | None = None,
        on_drain_batch_outcomes: Callable[[list[ItemOutcome[T]]], Any] | None = None,
        on_drain_complete: Callable[[DrainStats], Any] | None = None,
        should_retry: Callable[[T, Exception, int], bool] | None = None,
        drain_high_priority_on_stop: bool = True,
        reporter: Reporter | None = None,
        sleep: Callable[[float], Any] | None = None,
        rng: random.Random | None = None,
        clock: Clock | None = None,
        skip_register_worker: bool = False,
        task_metadata: dict[str, Any] | None = None,
        task_description: str | None = None,
        worker_options: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("name", name, "must be a non-empty string")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, float)) or not math.isfinite(batch_size):
            raise ValidationError("batch_size", batch_size, "must be a finite number")
        self._name = name
        self._batch_size = max(1, math.floor(batch_size))
        self._drain_interval = _interval("drain_interval", drain_interval)
        self._idle_drain_interval = (max(5.0, 5 * self._drain_interval) if idle_drain_interval is None
                                     else _interval("idle_drain_interval", idle_drain_interval))
        self._get_priority = get_priority
        self._process = process
        self._process_batch = process_batch
        self._retry_policy = retry_policy
        self._on_exhausted = on_exhausted
        self._on_drain_batch_outcomes = on_drain_batch_outcomes
        self._on_drain_complete = on_drain_complete
        self._should_retry = should_retry
        self._drain_high_priority_on_stop = drain_high_priority_on_stop
        self._reporter = reporter
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock: Clock = clock or SystemClock()
        self._queue: PriorityQueue[T] = PriorityQueue(get_priority, max_size=max_size, on_pressure=on_pressure,
                                                      on_overflow_warning=on_overflow_warning)
        self._processor: BatchProcessor[T] = BatchProcessor(
            process, max_parallel=max_parallel, max_retries_after_failure=max_retries_after_failure,
            retry_policy=retry_policy, should_retry=should_retry, on_exhausted=on_exhausted, sleep=sleep,
            rng=self._rng, reporter=reporter)
        self._draining = threading.Lock()
        self._disposed = False
        self._skip_register_worker = skip_register_worker
        self._task_metadata = dict(task_metadata or {})
        self._task_description = task_description
        self._worker_options = check_worker_options(worker_options, registers=not skip_register_worker)
        self._task_drain: Any = None
        self._supervisor: Any = None

    # -- what the runtime's drain task reads ---------------------------------------

    @property
    def name(self) -> str:
        """The queue's name."""
        return self._name

    @property
    def batch_size(self) -> int:
        """Items per drain (>= 1)."""
        return self._batch_size

    @property
    def drain_interval(self) -> float:
        """Seconds between drains while there is work."""
        return self._drain_interval

    @property
    def idle_drain_interval(self) -> float:
        """Seconds between drains after one that found nothing."""
        return self._idle_drain_interval

    @property
    def disposed(self) -> bool:
        """True once :meth:`dispose` has been called."""
        return self._disposed

    @property
    def draining(self) -> bool:
        """True while a drain is running."""
        return self._draining.locked()

    @property
    def size(self) -> int:
        """Items queued."""
        return self._queue.size

    def __len__(self) -> int:
        return self._queue.size

    def stats(self) -> QueueStats:
        """Counts per tier, as :meth:`PriorityQueue.stats`."""
        return self._queue.stats()

    # -- the queue -----------------------------------------------------------------

    def enqueue(self, item: T) -> bool:
        """Queue ``item``. False once disposed, or when ``on_pressure`` rejects it."""
        if self._disposed:
            return False
        return self._queue.enqueue(item)

    def clear(self) -> None:
        """Drop every queued item (a no-op once disposed)."""
        if not self._disposed:
            self._queue.clear()

    def drain(self) -> int:
        """Process one batch and return how many items it dequeued.

        Returns 0 when disposed, when the queue is empty (no hook is called), or
        when another drain is running — a concurrent call is refused, not queued.
        This is the method the runtime's drain task calls.

        Raises:
            RuntimeError: called from a thread that is running an event loop
                (use :meth:`adrain`).
        """
        if self._disposed or self._draining.locked():
            return 0
        return run_blocking(self.adrain, "BatchQueue.drain()", "BatchQueue.adrain()")

    async def adrain(self) -> int:
        """:meth:`drain` on the running event loop."""
        if self._disposed or not self._draining.acquire(blocking=False):
            return 0
        try:
            started = self._clock.now()
            batch = self._queue.dequeue_batch(self._batch_size)
            if not batch:
                return 0
            if self._process_batch is None:
                outcomes = await self._processor.arun(batch)
            else:
                outcomes = await self._via_process_batch(batch)
            await self._guarded("BatchQueue.outcomeHook", self._on_drain_batch_outcomes, outcomes)
            stats = DrainStats(len(batch), self._queue.size, max(0.0, self._clock.now() - started))
            await self._guarded("BatchQueue.completionHook", self._on_drain_complete, stats)
            return len(batch)
        finally:
            self._draining.release()

    def dispose(self, flush_high_priority: bool | None = None) -> list[T]:
        """Stop the queue; flush its high-priority items; hand back the rest.

        1. From now on ``enqueue`` returns False, ``drain`` returns 0 and
           ``clear`` does nothing. A drain already running is not waited for.
        2. If ``flush_high_priority`` (default: ``drain_high_priority_on_stop``),
           the items whose ``get_priority`` is ``"high"`` *now* are taken out and
           run through a fresh BatchProcessor — one at a time, one attempt each,
           same ``process``/``on_exhausted``/``should_retry``/``retry_policy`` —
           then ``on_drain_batch_outcomes(outcomes)`` is called **unguarded**:
           its exception propagates (``on_drain_complete`` is not called).
        3. Every item still queued — normal and low, and high ones when there was
           no flush — is removed and **returned**, in priority order.

        Unlike the seed, which clears the queue and loses them, queued normal and
        low items are handed back, never dropped: the caller decides whether to
        persist, re-queue or discard them. If the flush hook raises, they stay
        queued; calling ``dispose()`` again returns them.

        Returns:
            The unprocessed items.

        Raises:
            RuntimeError: called from a thread that is running an event loop
                (use :meth:`adispose`).
        """
        return run_blocking(
            lambda: self.adispose(flush_high_priority), "BatchQueue.dispose()", "BatchQueue.adispose()"
        )

    async def adispose(self, flush_high_priority: bool | None = None) -> list[T]:
        """:meth:`dispose` on the running event loop."""
        self._disposed = True
        flush = self._drain_high_priority_on_stop if flush_high_priority is None else flush_high_priority
        if flush:
            high = self._queue.drain(self._is_high_now)
            if high:
                flusher: BatchProcessor[T] = BatchProcessor(
                    self._process, max_parallel=1, max_retries_after_failure=0, max_attempts_cap=1,
                    retry_policy=self._retry_policy, should_retry=self._should_retry,
                    on_exhausted=self._on_exhausted, sleep=self._sleep, rng=self._rng, reporter=self._reporter)
                outcomes = await flusher.arun(high)
                if self._on_drain_batch_outcomes is not None:
                    result = self._on_drain_batch_outcomes(outcomes)
                    if inspect.isawaitable(result):
                        await result
        self._stop_drain()
        return self._queue.drain()

    def start(self, supervisor: Any) -> None:
        """Make the queue durable-driven: a recurring drain task in ``supervisor``'s store
        (an :class:`actors.batch.drain.TaskDrain` named after the queue) calls :meth:`drain`
        every ``drain_interval`` (``idle_drain_interval`` after an empty drain).

        Raises:
            ActorsError: the queue was disposed. A second call is a no-op.
        """
        from ..errors import ActorsError
        from .drain import TaskDrain

        if self._disposed:
            raise ActorsError(f"BatchQueue {self._name!r} has already been disposed")
        if self._task_drain is not None:
            return
        self._supervisor = supervisor
        self._task_drain = TaskDrain(
            self._name, self._drain_interval, description=self._task_description,
            task_metadata=self._task_metadata, skip_register_worker=self._skip_register_worker,
            on_drain=None if self._skip_register_worker else (lambda _sup: self.drain()),
            idle_interval=self._idle_drain_interval, worker_options=self._worker_options)
        self._task_drain.start(supervisor)

    def update_drain_interval(self, interval: float) -> None:
        """Change the drain task's interval (seconds); a no-op before :meth:`start`."""
        self._drain_interval = _interval("drain_interval", interval)
        if self._task_drain is not None:
            self._task_drain.update_interval(self._supervisor, self._drain_interval)

    def _stop_drain(self) -> None:
        """Delete the drain task (seed step 4); nothing to do for a queue never started."""
        if self._task_drain is not None:
            self._task_drain.dispose(self._supervisor)

    # -- internals -----------------------------------------------------------------

    def _is_high_now(self, item: T) -> bool:
        if self._get_priority is None:
            return False
        try:
            return self._get_priority(item) == "high"
        except Exception as exc:  # the item is handed back instead of flushed
            report(self._reporter, "BatchQueue.shutdownFlush", exc, {"queue": self._name})
            return False

    async def _guarded(self, where: str, hook: Callable[[Any], Any] | None, arg: object) -> None:
        if hook is None:
            return
        try:
            result = hook(arg)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            report(self._reporter, where, exc, {"queue": self._name})

    async def _via_process_batch(self, batch: list[T]) -> list[ItemOutcome[T]]:
        assert self._process_batch is not None
        return await via_process_batch(self._name, self._process_batch, batch, self._processor,
                                       should_retry=self._should_retry, on_exhausted=self._on_exhausted,
                                       reporter=self._reporter)
