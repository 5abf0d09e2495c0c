"""The composable batch-queue pieces, usable without a supervisor (ELIZA_SPEC §3, §4, §6, §7).

=====================  ==========================================================
:class:`PriorityQueue`  what runs next: three FIFO tiers, optional ``max_size``
:class:`Semaphore`      a FIFO counting semaphore for threads and coroutines
:class:`BatchProcessor` how a slice runs: bounded parallelism, retries, back-off
:class:`BatchQueue`     enqueue → ``drain()`` a batch at a time → process
:class:`TaskDrain`      a recurring store task that drains (``actors.batch.drain``)
=====================  ==========================================================

Callers compose only what they need. The modules: ``_pqueue`` (PriorityQueue),
``_semaphore`` (Semaphore), ``_batch_processor`` (BatchProcessor, RetryPolicy,
ItemOutcome), ``_calls`` (plain-or-async callbacks and the error reporter),
``batch`` and ``_slices`` (BatchQueue), ``drain`` (TaskDrain, AffinityDrains: the
only one that imports pykka, loaded on first use), ``_drain_worker`` (the drain's plain
``TaskWorker``: ``worker_options`` forwarded, so drain rows get the task lifecycle). The supervisor's dispatch uses the
same PriorityQueue and Semaphore (``actors.runtime.pool``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._batch_processor import BatchProcessor, ItemOutcome, RetryPolicy
from ._calls import Reporter, log_error
from ._pqueue import PRIORITIES, Priority, PriorityQueue, QueueStats
from ._semaphore import Semaphore
from .batch import BatchQueue, DrainStats

if TYPE_CHECKING:
    from .drain import AffinityDrains, TaskDrain

__all__ = [
    "PRIORITIES",
    "AffinityDrains",
    "BatchProcessor",
    "BatchQueue",
    "DrainStats",
    "ItemOutcome",
    "Priority",
    "PriorityQueue",
    "QueueStats",
    "Reporter",
    "RetryPolicy",
    "Semaphore",
    "TaskDrain",
    "log_error",
]

# Show the public home in reprs and docs; the private modules are an implementation detail.
for _public in (BatchProcessor, BatchQueue, DrainStats, ItemOutcome, PriorityQueue, RetryPolicy, Semaphore):
    _public.__module__ = __name__


def __getattr__(name: str) -> Any:
    if name in ("TaskDrain", "AffinityDrains"):
        from . import drain

        return getattr(drain, name)
    raise AttributeError(f"module 'actors.batch' has no attribute {name!r}")
