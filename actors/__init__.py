"""actors: a durable background-task runtime for Python, built as a multiprocess actor system."""

from __future__ import annotations

import logging

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
from .system import Supervisor
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
