"""actors: a durable background-task runtime for Python, built as a multiprocess actor system."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .clock import Clock, ManualClock, SystemClock
from .creating import ValidateContext
from .cron import Cron
from .errors import (
    ActorsError,
    ChildStartError,
    NodeStopped,
    StoreError,
    TaskCancelled,
    TaskFailed,
    TaskNotFound,
    Timeout,
    UnknownWorker,
    ValidationError,
)
from .feed.event import Event
from .models import Node, QueueInfo, Schedule, Task, TaskStatus
from .retry import Retry
from .spec import TaskSpec
from .workers import TaskWorker, worker

__all__ = [
    "ActorsError",
    "AffinityDrains",
    "AsyncSupervisor",
    "BatchProcessor",
    "BatchQueue",
    "ChildStartError",
    "Clock",
    "Cron",
    "Event",
    "ItemOutcome",
    "ManualClock",
    "Node",
    "NodeStopped",
    "PriorityQueue",
    "QueueInfo",
    "Retry",
    "Schedule",
    "Semaphore",
    "StoreError",
    "Supervisor",
    "SystemClock",
    "Task",
    "TaskCancelled",
    "TaskDrain",
    "TaskFailed",
    "TaskNotFound",
    "TaskSpec",
    "TaskStatus",
    "TaskWorker",
    "Timeout",
    "UnknownWorker",
    "ValidateContext",
    "ValidationError",
    "worker",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from .aio import AsyncSupervisor
    from .batch import BatchProcessor, BatchQueue, ItemOutcome, PriorityQueue, Semaphore
    from .batch.drain import AffinityDrains, TaskDrain
    from .system import Supervisor

# Loaded on first use, so that a pool's child process (which imports ``actors`` to find
# its task functions) pays for neither pykka nor asyncio (the batch stack): less memory.
_LAZY = {"Supervisor": "system", "AsyncSupervisor": "aio", "TaskDrain": "batch.drain", "AffinityDrains": "batch.drain",
         "BatchProcessor": "batch", "BatchQueue": "batch", "ItemOutcome": "batch",
         "PriorityQueue": "batch", "Semaphore": "batch"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'actors' has no attribute {name!r}")
