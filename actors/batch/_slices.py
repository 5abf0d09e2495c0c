"""``BatchQueue.drain`` with ``process_batch``: one call for the whole slice, then per-item retries
of what failed (ELIZA_SPEC §6, the newest behaviour)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ._batch_processor import BatchProcessor, ItemOutcome
from ._calls import Reporter, call_maybe_async, report

__all__ = ["via_process_batch"]

T = TypeVar("T")


def _outcomes_of(queue: str, returned: object, batch: list[T]) -> Sequence[ItemOutcome[T]]:
    if (
        not isinstance(returned, (list, tuple))
        or len(returned) != len(batch)
        or not all(isinstance(outcome, ItemOutcome) for outcome in returned)
    ):
        raise TypeError(
            f'BatchQueue "{queue}" process_batch must return one ItemOutcome per item '
            f"({len(batch)}), in order; got {type(returned).__name__}"
            + (f" of length {len(returned)}" if isinstance(returned, (list, tuple)) else "")
        )
    return returned


def _retry_allowed(queue: str, should_retry: Callable[[T, Exception, int], bool] | None,
                   reporter: Reporter | None, item: T, error: Exception) -> bool:
    """``should_retry(item, error, 1)`` for a failed batched attempt; a raising predicate says no."""
    if should_retry is None:
        return True
    try:
        return bool(should_retry(item, error, 1))
    except Exception as exc:
        report(reporter, "BatchQueue.shouldRetry", exc, {"queue": queue})
        return False


async def via_process_batch(queue: str, process_batch: Callable[[list[T]], Any], batch: list[T],
                            processor: BatchProcessor[T], *,
                            should_retry: Callable[[T, Exception, int], bool] | None,
                            on_exhausted: Callable[[T, Exception], Any] | None,
                            reporter: Reporter | None) -> list[ItemOutcome[T]]:
    """One ``process_batch(batch)`` call; each failed item is then exhausted at once
    (``should_retry(item, error, 1)`` falsy) or run again through ``processor`` with fresh
    attempts. Outcomes in batch order; items that succeeded are never rerun."""
    settled: list[ItemOutcome[T] | None] = [None] * len(batch)
    failures: list[tuple[int, T, Exception]] = []
    try:
        returned = await call_maybe_async(process_batch, list(batch))
        outcomes = _outcomes_of(queue, returned, batch)
    except Exception as exc:
        report(reporter, "BatchQueue.processBatch", exc, {"queue": queue, "batch_size": len(batch)})
        failures = [(index, item, exc) for index, item in enumerate(batch)]
    else:
        for index, outcome in enumerate(outcomes):
            if outcome.success:
                settled[index] = outcome
            else:
                error = outcome.error or RuntimeError(
                    f'BatchQueue "{queue}" processBatch reported a failed item without an error'
                )
                failures.append((index, outcome.item, error))
    retry: list[tuple[int, T]] = []
    for index, item, error in failures:
        if _retry_allowed(queue, should_retry, reporter, item, error):
            retry.append((index, item))
            continue
        settled[index] = ItemOutcome(item, False, error, 0)
        if on_exhausted is not None:
            try:
                await call_maybe_async(on_exhausted, item, error)
            except Exception as exc:
                report(reporter, "BatchQueue.onExhausted", exc, {"queue": queue})
    if retry:
        redone = await processor.arun([item for _, item in retry])
        for (index, _), outcome in zip(retry, redone, strict=True):
            settled[index] = outcome
    return [outcome for outcome in settled if outcome is not None]
