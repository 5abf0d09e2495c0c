"""The ``TaskStore`` protocol: every change to the task table is a named transition.

Nothing above ``actors/storage/`` writes SQL; the supervisor calls these methods
and nothing else. One contract suite (``tests/contract``) runs against every
store. Times are float epoch seconds (UTC) handed in by the caller — a store
never reads the clock. Rows hold JSON only; nothing read back is unpickled.

Lease model: ``claim`` marks due PENDING rows RUNNING with an owner, a fresh
fencing ``token`` and ``lease_expires_at``; every write about an attempt
(``finish``, ``continue_tasks``, ``save_step``, ``set_progress``, ``merge_metadata``,
``append_logs``) carries the token and is ignored when it no longer matches (the row was reclaimed, cancelled
or deleted meanwhile).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..models import Claim, QueueInfo, Task, TaskStatus
from ..spec import UPDATABLE_FIELDS, check_tags, check_update, distinct_ids
from .capabilities import (  # (re-exported: their home before they had their own module)
    DataVersioned,
    ListenerReporting,
    Subscribable,
    data_versioned,
    reports_listener,
    subscribable,
)
from .changes import CHANGES_LIMIT, ChangeCursor
from .clustering import Clustering, Firing
from .iterating import Continuation, Iterating

__all__ = [
    "CHANGES_LIMIT", "DEFAULT_QUEUE", "LEADER", "UPDATABLE_FIELDS", "ChangeCursor", "ClaimRequest", "Clustering",
    "Continuation", "DataVersioned", "Finish", "Firing", "Iterating", "ListenerReporting", "LogRecord",
    "Subscribable", "TaskQuery", "TaskStore", "check_tags", "check_update", "data_versioned", "distinct_ids",
    "reports_listener", "subscribable",
]

#: The queue a task without one runs in (``counts_by_queue`` counts it there).
DEFAULT_QUEUE = "default"

#: The lease name of the node that fires schedules and prunes (``TaskStore.acquire_lease``).
LEADER = "leader"

@dataclass(frozen=True)
class TaskQuery:
    """A filter for ``TaskStore.query``; unset fields match everything.

    ``tags``: a task must carry all of them. ``status``: any of these. ``parent_id``: the
    children of that task. Results come in creation order — newest finished first
    (``finished_at``, then creation, descending) when every status given is finished, in
    run order (priority, then due time, then creation: the order claims take) when every
    status given is unfinished; ``offset`` of them are skipped, ``limit`` caps the rest.
    """

    room_id: str | None = None
    world_id: str | None = None
    entity_id: str | None = None
    tags: tuple[str, ...] = ()
    name: str | None = None
    status: tuple[TaskStatus, ...] = ()
    limit: int | None = None
    queue: str | None = None
    parent_id: str | None = None
    offset: int = 0

    @property
    def newest_first(self) -> bool:
        """Whether the results come newest finished first (every status asked for is finished)."""
        return bool(self.status) and all(TaskStatus(status).finished for status in self.status)

    @property
    def run_order(self) -> bool:
        """Whether the results come in run order (every status asked for is unfinished)."""
        return bool(self.status) and not any(TaskStatus(status).finished for status in self.status)


@dataclass(frozen=True)
class Finish:
    """How one attempt ended, as the supervisor decided it; applied only if ``token`` matches.

    ``status`` is the row's next status: SUCCEEDED or FAILED (final), PENDING (a
    retry, or a recurring task's next run, at ``run_at``) or PAUSED (a recurring task
    auto-paused after too many failures). A row whose pause was requested while it
    ran goes to PAUSED instead of PENDING. ``failure_count`` and ``crash_count`` are
    the new values; ``result`` is JSON; ``error`` None clears the last error.
    ``clear_steps``: the task's durable steps (``ctx.step``) are cleared (a recurring task's run
    that ended well: the next run is new work).
    """

    task_id: str
    token: str
    status: TaskStatus
    run_at: float | None = None
    result: Any = None
    error: str | None = None
    failure_count: int = 0
    crash_count: int = 0
    clear_steps: bool = False


@dataclass(frozen=True)
class ClaimRequest:
    """The claim to make with ``add_and_claim`` / ``finish_and_claim`` (``claim``'s arguments).

    ``names`` is kept sorted and without repeats; no names or ``limit <= 0`` claims nothing.
    ``queues``: only tasks of these queues (None: every queue; a task without one is in
    ``DEFAULT_QUEUE``), kept sorted.
    """

    names: tuple[str, ...]
    limit: int
    owner: str
    lease_ttl: float
    queues: tuple[str, ...] | None = None

    def __init__(self, names: Collection[str], limit: int, owner: str, lease_ttl: float,
                 queues: Collection[str] | None = None) -> None:
        object.__setattr__(self, "names", tuple(sorted(set(names))))
        object.__setattr__(self, "limit", limit)
        object.__setattr__(self, "owner", owner)
        object.__setattr__(self, "lease_ttl", lease_ttl)
        object.__setattr__(self, "queues", None if queues is None else tuple(sorted(set(queues))))


@dataclass(frozen=True)
class LogRecord:
    """One log line a task wrote during an attempt of one of its iterations."""

    task_id: str
    attempt: int
    created: float
    level: str
    message: str
    iteration: int = 1


class TaskStore(Iterating, Clustering, Protocol):
    """Named transitions over the task table. Implementations: memory, SQLite, PostgreSQL.

    A store is used from one thread at a time (the supervisor's) but may be built
    in another. Several processes may open the same SQLite file or PostgreSQL
    database; ``claim`` never hands one row to two owners.
    """

    def add(self, tasks: Sequence[Task]) -> list[str]:
        """Insert PENDING tasks in one transaction; returns their ids in order.

        A task whose ``idempotency_key`` is already used returns the existing
        task's id and is not inserted. All or nothing: on error nothing is stored.
        """
        ...

    def get(self, task_id: str) -> Task | None:
        """The task, or None."""
        ...

    def get_many(self, task_ids: Collection[str]) -> dict[str, Task]:
        """The tasks that exist among ``task_ids``, by id."""
        ...

    def query(self, query: TaskQuery) -> list[Task]:
        """Tasks matching ``query`` in its order (``TaskQuery``), paged by ``offset`` and ``limit``."""
        ...

    def search(self, text: str, *, limit: int | None = None) -> list[Task]:
        """Tasks whose name, description or tags hold every word of ``text`` (``spec.words``:
        letters and digits, case-insensitive, whole words), in creation order, at most ``limit``.
        No words: no tasks. Every task committed before the call is found as it is now (a store
        may index lazily: SQLite indexes what was created since the last search, so creates
        never pay the index). Raises ValidationError for a bad ``text`` or ``limit``."""
        ...

    def update(self, task_id: str, changes: Mapping[str, Any], now: float) -> Task:
        """Set fields named in ``UPDATABLE_FIELDS`` (metadata is replaced whole).

        A new ``update_interval`` moves a PENDING task's ``run_at`` (``_rules.moved_run_at``:
        the last run's end, kept by ``finish``, or the creation, + the new interval).

        Raises:
            TaskNotFound: no such task.
        """
        ...

    def delete(self, task_id: str) -> bool:
        """Remove the task (and its logs); False if there was none."""
        ...

    def claim(self, names: Collection[str], limit: int, now: float, owner: str,
              lease_ttl: float, queues: Collection[str] | None = None) -> list[Claim]:
        """Lease up to ``limit`` due PENDING tasks whose name is in ``names`` (and whose
        queue is in ``queues`` when given), within the queues' limits (``set_queue``:
        counted in this transaction, across every process sharing the store).

        Order: priority (high first), then ``run_at``, then creation. Each claimed
        row becomes RUNNING with ``attempts + 1``, ``owner``, a new token and
        ``lease_expires_at = now + lease_ttl``.
        """
        ...

    #: Set by every claim: True when a queue's limit (``set_queue``) kept due rows out of it,
    #: so a short claim does not mean nothing else is due. (A store without queue limits
    #: may lack it: read it with ``getattr(store, "claim_held_back", False)``.)
    claim_held_back: bool

    def add_and_claim(self, tasks: Sequence[Task], now: float,
                      claim: ClaimRequest) -> tuple[list[str], list[Claim]]:
        """``add(tasks)`` then ``claim(...)`` as one transition: ``(ids, claims)``.

        The claim sees the new rows and follows ``claim``'s order over the whole table
        (an older or higher-priority due task goes first). One transaction: on error
        nothing is stored and nothing claimed. Saves a node a commit per task created
        while a worker is free.
        """
        ...

    def finish_and_claim(self, finishes: Sequence[Finish], now: float,
                         claim: ClaimRequest) -> tuple[list[str], list[Claim]]:
        """``finish(finishes)`` then ``claim(...)`` as one transition: ``(applied ids, claims)``.

        One transaction: on error nothing is applied and nothing claimed. Lets a node
        record attempt ends and take the next work in one commit.
        """
        ...

    def renew(self, owner: str, now: float, lease_ttl: float) -> int:
        """Extend every lease ``owner`` holds to ``now + lease_ttl``; returns how many."""
        ...

    def release(self, claims: Sequence[tuple[str, str]], now: float) -> int:
        """Give claimed-but-unstarted tasks back: RUNNING → PENDING, ``attempts - 1``.

        ``claims`` are (task_id, token) pairs; stale tokens are ignored.
        """
        ...

    def suspend(self, items: Sequence[tuple[str, str, float]], now: float) -> list[str]:
        """Attempts that stopped to wait on other tasks (``ctx.wait``): each ``(task_id, token,
        run_at)`` RUNNING under ``token`` goes back to PENDING (PAUSED if a pause was requested)
        due at ``run_at``, ``attempts - 1`` (a wait spends no attempt), its lease dropped; the
        result, error and counters are kept. Returns the ids applied (stale tokens are ignored)."""
        ...

    def finish(self, finishes: Sequence[Finish], now: float) -> list[str]:
        """Record attempt ends in one transaction; returns the ids applied (others were stale);
        ``now`` is kept as the row's last run time (private; ``update`` reads it)."""
        ...

    def set_progress(self, task_id: str, token: str, progress: float, now: float) -> bool:
        """Record progress of a running attempt; False if the token is stale."""
        ...

    def merge_metadata(self, task_id: str, token: str | None, values: Mapping[str, Any],
                       now: float) -> bool:
        """Merge ``values`` into the task's metadata (fenced when ``token`` is given)."""
        ...

    def append_logs(self, records: Sequence[LogRecord]) -> None:
        """Keep log lines with their attempt (rows of deleted tasks are dropped)."""
        ...

    def logs(self, task_id: str, iteration: int | None = None) -> list[LogRecord]:
        """The task's log lines, oldest first: those of one ``iteration``, or all (None)."""
        ...

    def pause(self, task_id: str, now: float) -> Task:
        """PENDING → PAUSED; a RUNNING task pauses when its attempt ends. Raises TaskNotFound."""
        ...

    def resume(self, task_id: str, now: float) -> Task:
        """PAUSED → PENDING with ``failure_count = 0``; cancels a requested pause (RUNNING).

        Raises:
            TaskNotFound: no such task. ValidationError: any other state (field ``status``).
        """
        ...

    def retry(self, task_id: str, now: float) -> Task:
        """FAILED / CANCELLED → PENDING due at ``now``: ``attempts``, ``failure_count`` and
        ``crash_count`` back to 0, ``finished_at`` cleared (result and error kept until the next
        attempt ends). Returns the task after. Raises TaskNotFound; ValidationError (field
        ``status``) for any other state, nothing changed."""
        ...

    def cancel(self, task_id: str, now: float) -> Task | None:
        """Any unfinished task → CANCELLED (its lease dropped); returns the task as it was before."""
        ...

    def reclaim_expired(self, now: float, max_crashes: int) -> list[Task]:
        """RUNNING rows whose lease expired go back to PENDING with ``crash_count + 1``.

        A row reaching ``max_crashes`` becomes FAILED (quarantined) instead. Returns the
        rows as they are after the change.
        """
        ...

    def next_due(self, names: Collection[str]) -> float | None:
        """The earliest ``run_at`` of a PENDING task named in ``names``, or None."""
        ...

    def next_lease_expiry(self) -> float | None:
        """The earliest ``lease_expires_at`` of any RUNNING task, or None."""
        ...

    def prune(self, before: float) -> int:
        """Delete SUCCEEDED / FAILED / CANCELLED tasks finished before ``before`` (and
        schedule firings recorded before it); returns the number of tasks deleted."""
        ...

    def changes_since(self, cursor: ChangeCursor | None, limit: int = CHANGES_LIMIT) -> tuple[list[Task], ChangeCursor]:
        """Rows created after ``cursor.seq`` (oldest first, ``limit``), every RUNNING row, rows finished
        since ``cursor.finished`` (``limit``); each once; the next cursor (``storage.changes``)."""
        ...

    def counts(self) -> dict[str, int]:
        """Number of tasks by status value (every status present, zeros included)."""
        ...

    def set_queue(self, name: str, changes: Mapping[str, Any]) -> QueueInfo:
        """Declare queue ``name`` or change it: a setting not in ``changes`` keeps its value,
        one given as None is removed (``spec.queues``). Returns the queue as it is now.
        Raises ValidationError (nothing stored) for a bad name or setting."""
        ...

    def queues(self) -> list[QueueInfo]:
        """Every declared queue and every queue with tasks, by name (counts, running)."""
        ...

    def counts_by_queue(self) -> dict[str, dict[str, int]]:
        """Per queue, the number of tasks by status value (every status present, zeros
        included); a task without a queue counts under ``DEFAULT_QUEUE``. Queues with no
        task are left out."""
        ...

    def pending_names(self) -> dict[str, int]:
        """PENDING task counts by name (to find tasks no registered worker can run)."""
        ...

    def close(self) -> None:
        """Release connections. Idempotent."""
        ...
