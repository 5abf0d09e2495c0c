"""actors: a durable background-task runtime for Python, built as a multiprocess actor system."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .batch import BatchProcessor, BatchQueue, ItemOutcome, PriorityQueue, RetryPolicy, Semaphore
from .clock import Clock, ManualClock, SystemClock
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
from .models import Task, TaskStatus
from .retry import Retry
from .spec import TaskSpec
from .workers import TaskWorker, worker

__all__ = [
    "ActorsError",
    "BatchProcessor",
    "BatchQueue",
    "Clock",
    "ItemOutcome",
    "ManualClock",
    "PriorityQueue",
    "Retry",
    "RetryPolicy",
    "Semaphore",
    "StoreError",
    "Supervisor",
    "SystemClock",
    "Task",
    "TaskCancelled",
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
    from .system import Supervisor


def __getattr__(name: str) -> Any:
    # Loaded on first use: child processes import actors' kernel without pykka.
    if name == "Supervisor":
        from .system import Supervisor

        return Supervisor
    raise AttributeError(f"module 'actors' has no attribute {name!r}")
