"""What an executor runs (``Job``) and what it reports (the ``ExecutorEvent`` union).

Stdlib and the kernel only: a pool child imports this module. ``actors.messages``
re-exports every name.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .models import Outcome, Task

__all__ = ["ExecutorEvent", "Job", "JobDone", "JobLog", "JobMetadata", "JobProgress", "JobStarted"]


# --- what an executor runs ------------------------------------------------------------


class Job(NamedTuple):
    """One attempt of one task, as handed to an executor."""

    task: Task
    token: str
    attempt: int
    timeout: float | None
    max_iterations: int | None = None  # the worker's limit (the task's own wins; None: 500)


# --- what an executor reports (from its own threads; the owner forwards them) --------


class JobStarted(NamedTuple):
    """The attempt began running (reported for jobs that have a timeout)."""

    task_id: str
    token: str
    started: float


class JobProgress(NamedTuple):
    """``ctx.progress(value)``."""

    task_id: str
    token: str
    progress: float


class JobMetadata(NamedTuple):
    """``ctx.set_metadata(**values)``: merge into the task's metadata."""

    task_id: str
    token: str
    values: dict[str, Any]


class JobLog(NamedTuple):
    """One record written to ``ctx.log``."""

    task_id: str
    token: str
    attempt: int
    created: float
    level: str
    message: str
    iteration: int = 1


class JobDone(NamedTuple):
    """The attempt ended."""

    task_id: str
    token: str
    outcome: Outcome


ExecutorEvent = JobStarted | JobProgress | JobMetadata | JobLog | JobDone
