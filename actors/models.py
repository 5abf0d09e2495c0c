"""The task record, its status, priorities and the closed set of run outcomes.

Stdlib only. Times in a ``Task`` are aware UTC datetimes; durations are float
seconds.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

__all__ = [
    "PRIORITIES",
    "Cancelled",
    "Claim",
    "Continued",
    "Crashed",
    "Node",
    "Outcome",
    "QueueInfo",
    "Raised",
    "Schedule",
    "Succeeded",
    "Task",
    "TaskStatus",
    "TimedOut",
    "Waiting",
    "direct_constructor",
    "priority_rank",
]

_Frozen = TypeVar("_Frozen")

#: Priority names, highest first. The index is the rank stored in the table.
PRIORITIES: tuple[str, ...] = ("high", "normal", "low")


def priority_rank(priority: str) -> int:
    """0 for high, 1 for normal, 2 for low (raises ``KeyError`` for anything else)."""
    return {"high": 0, "normal": 1, "low": 2}[priority]


class TaskStatus(str, enum.Enum):
    """Where a task is in its life.

    PENDING → RUNNING → SUCCEEDED | FAILED | back to PENDING (retry, next recurring
    run, or a lease that expired). PAUSED and CANCELLED are set by the user
    (PAUSED also by auto-pause after too many failures of a recurring task).
    """

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"

    @property
    def finished(self) -> bool:
        """True for the states a task never leaves on its own."""
        return self in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Task:
    """A snapshot of one task row. Frozen: change a task through the supervisor."""

    id: str
    name: str
    description: str = ""
    status: TaskStatus = TaskStatus.PENDING
    priority: str = "normal"
    queue: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    room_id: str | None = None
    world_id: str | None = None
    entity_id: str | None = None
    run_at: datetime | None = None
    update_interval: float | None = None
    attempts: int = 0
    failure_count: int = 0
    crash_count: int = 0
    progress: float | None = None
    result: Any = None
    error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    max_attempts: int | None = None
    max_failures: int = 5
    timeout: float | None = None
    retry: dict[str, Any] | None = None
    idempotency_key: str | None = None
    idempotency_expires_at: datetime | None = None  # when the key frees (None: never)
    parent_id: str | None = None  # the running task that created it (ctx.create_task)
    concurrency_key: str | None = None
    iteration: int = 1  # 1 for the first run; each ``actors.Continue`` adds one
    max_iterations: int | None = None  # its own limit (None: its worker's, else 500)
    steps: dict[str, Any] = field(default_factory=dict)  # ``ctx.step`` results of this iteration, by key
    trace: dict[str, str] | None = None  # the creator's W3C trace context (traceparent, tracestate)

    @property
    def recurring(self) -> bool:
        """True when the task runs again every ``update_interval`` seconds."""
        return self.update_interval is not None


@dataclass(frozen=True)
class QueueInfo:
    """A queue's settings and state (``Supervisor.get_queues`` / ``set_queue``).

    ``concurrency``: most of its tasks RUNNING at once across every node (None: no limit);
    ``key_concurrency``: most RUNNING per ``concurrency_key``; ``rate_limit``: at most
    ``(count, seconds)`` attempts started per ``seconds``; ``paused``: it starts nothing.
    ``counts``: its tasks by status value; ``running``: how many RUNNING now.
    """

    name: str
    concurrency: int | None = None
    key_concurrency: int | None = None
    rate_limit: tuple[int, float] | None = None
    paused: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    running: int = 0

    @property
    def limited(self) -> bool:
        """True when the queue restricts claims at all (a limit or a pause)."""
        return self.paused or any(v is not None for v in (self.concurrency, self.key_concurrency, self.rate_limit))

    def as_dict(self) -> dict[str, Any]:
        """Its fields as JSON (``rate_limit`` as ``[count, seconds]``): one queue of ``stats()["queues"]``."""
        return {"name": self.name, "concurrency": self.concurrency, "key_concurrency": self.key_concurrency,
                "rate_limit": None if self.rate_limit is None else list(self.rate_limit),
                "paused": self.paused, "counts": dict(self.counts), "running": self.running}


@dataclass(frozen=True)
class Schedule:
    """A named schedule that creates one task per fire time (cron or fixed period).

    ``key`` identifies the schedule (unique in the store); ``name`` is the task
    worker each firing runs; ``fields`` the other ``create_task`` arguments each
    task gets (JSON). Exactly one of ``cron`` (an :class:`actors.cron.Cron`
    expression, UTC) and ``every`` (seconds) is set. Each fire time is recorded
    once per store, whatever the number of nodes.
    """

    key: str
    name: str
    cron: str | None = None
    every: float | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    next_fire: datetime | None = None
    last_fire: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Node:
    """A supervisor that serves a store, as its heartbeat row tells.

    ``expires_at``: when the node counts as dead unless it beats again.
    ``info``: what the node said about itself (host, pid, workers).
    """

    node_id: str
    started_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    info: dict[str, Any] = field(default_factory=dict)

    def alive(self, now: datetime) -> bool:
        """True while the last heartbeat has not expired at ``now``."""
        return self.expires_at > now


@dataclass(frozen=True)
class Claim:
    """A task handed to this node, with the fencing token of this attempt."""

    task: Task
    token: str


def direct_constructor(cls: type[_Frozen], *, adopt: bool = False) -> Callable[[Mapping[str, Any]], _Frozen]:
    """A constructor of the (frozen, slot-less) dataclass ``cls`` from a mapping of field values,
    equal to ``cls(**values)`` but without ``__init__``'s ``object.__setattr__`` per field (35 of
    them cost a ``Task`` about 4 µs, most of a create's bookkeeping).

    A field missing from ``values`` takes its default (a ``default_factory`` is called once per
    object, as ``__init__`` does). ``values`` must hold only field names and every field without
    a default: the caller has checked them (this is for hot paths that build their values
    field by field, ``build_task`` and ``coerce_spec``); ``cls`` must have no ``__post_init__``.

    ``adopt``: a ``dict`` holding every field becomes the object's state as is (no copy; the
    caller hands it over and keeps no reference); anything else is copied as above.
    """
    defaults = {f.name: f.default for f in fields(cls)  # type: ignore[arg-type]
                if f.default is not MISSING}
    factories = [(f.name, f.default_factory) for f in fields(cls)  # type: ignore[arg-type]
                 if f.default_factory is not MISSING]
    count = len(fields(cls))  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        raise TypeError(f"direct_constructor: {cls.__name__} has __post_init__ or __slots__")
    new = object.__new__
    setter = object.__setattr__

    def construct(values: Mapping[str, Any]) -> _Frozen:
        if adopt and values.__class__ is dict and len(values) == count:
            state = values
        else:
            state = {**defaults, **values}
            for name, factory in factories:
                if name not in values:
                    state[name] = factory()
        obj = new(cls)
        setter(obj, "__dict__", state)
        return obj

    return construct


# --- outcomes: the closed set of ways one attempt can end ---------------------------


@dataclass(frozen=True)
class Succeeded:
    """The worker returned. ``next_interval`` (seconds) reschedules a recurring task."""

    result: Any = None
    next_interval: float | None = None


@dataclass(frozen=True)
class Raised:
    """The worker raised an exception.

    ``final`` and ``retry_in`` carry the attempt's own directive to ``lifecycle.decide``: final
    (``actors.AbortTask``, or ``catch_error`` returned False) fails the task now with no retry;
    ``retry_in`` (``catch_error`` returned seconds) retries after that delay instead of the
    policy's (within the policy's ``max_attempts``).
    """

    type: str
    message: str
    traceback: str = ""
    final: bool = False
    retry_in: float | None = None

    def describe(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type


@dataclass(frozen=True)
class TimedOut:
    """The attempt outlived its timeout and its process tree was killed."""

    seconds: float

    def describe(self) -> str:
        return f"Timeout: the attempt ran longer than {self.seconds:g}s and was killed"


@dataclass(frozen=True)
class Crashed:
    """The process running the attempt died (os._exit, signal, segfault, lost node)."""

    reason: str
    exitcode: int | None = None

    def describe(self) -> str:
        return f"Crashed: {self.reason}"


@dataclass(frozen=True)
class Cancelled:
    """The attempt was aborted because the task was cancelled or deleted."""

    def describe(self) -> str:
        return "Cancelled"


@dataclass(frozen=True)
class Continued:
    """The worker returned ``actors.Continue``: the same task runs again as its next iteration,
    ``delay`` seconds later, with ``metadata`` (None: the metadata it has now)."""

    metadata: dict[str, Any] | None = None
    delay: float = 0.0

    def describe(self) -> str:
        return f"Continued (in {self.delay:g}s)"


@dataclass(frozen=True)
class Waiting:
    """The attempt stopped to wait on other tasks (``ctx.wait`` / ``ctx.trigger_and_wait``).

    Not an end: the task goes back to PENDING without spending an attempt, and runs again
    once every task of ``task_ids`` is finished, or at ``wake_at`` (the wait's deadline,
    epoch seconds; None: no deadline). Its triggers then return the same children.
    """

    task_ids: tuple[str, ...]
    wake_at: float | None = None

    def describe(self) -> str:
        return f"Waiting on {len(self.task_ids)} task(s)"


Outcome = Succeeded | Raised | TimedOut | Crashed | Cancelled | Continued | Waiting
