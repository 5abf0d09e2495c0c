"""actors: a durable background-task runtime for Python, built as a multiprocess actor system."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .batch import BatchProcessor, BatchQueue, ItemOutcome, PriorityQueue, Semaphore
from .clock import Clock, ManualClock, SystemClock
from .cron import Cron
from .errors import (
    ActorsError,
    StoreError,
    TaskCancelled,
    TaskFailed,
    TaskNotFound,
    Timeout,
    UnknownWorker,
    ValidationError,
)
from .models import Node, Schedule, Task, TaskStatus
from .retry import Retry
from .spec import TaskSpec
from .workers import TaskWorker, worker

__all__ = [
    "ActorsError",
    "AffinityDrains",
    "BatchProcessor",
    "BatchQueue",
    "Clock",
    "Cron",
    "ItemOutcome",
    "ManualClock",
    "Node",
    "PriorityQueue",
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
    "ValidationError",
    "worker",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from .drain import AffinityDrains, TaskDrain
    from .system import Supervisor

_LAZY = {"Supervisor": "system", "TaskDrain": "drain", "AffinityDrains": "drain"}


def __getattr__(name: str) -> Any:
    # Loaded on first use: child processes import actors' kernel without pykka.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'actors' has no attribute {name!r}")
