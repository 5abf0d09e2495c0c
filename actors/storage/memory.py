"""``MemoryStore``: the task table in dicts (unit tests and inline mode).

It keeps rows the way ``SQLiteStore`` does — times as epoch seconds, metadata,
result, retry and tags as JSON text — so values read back behave identically
(a tuple in metadata comes back a list) and never alias the caller's objects.
One lock makes it safe to use from several threads.

Semantics shared with every store (the contract suite checks them):

* ``add`` refuses (``ValidationError``, nothing stored) a RUNNING task, an
  unfinished task without ``run_at``, an unknown priority, a value that is not
  JSON, and an id that is already used (in the store or twice in the batch).
* A pause requested while a task runs is honoured when the row next leaves
  RUNNING for PENDING (``finish``, ``release``, ``reclaim_expired``): it goes to
  PAUSED instead. ``resume`` withdraws a requested pause.
* ``pause`` of a task in any other state (finished included) leaves it unchanged
  and returns it; ``resume`` of a task that is neither PAUSED nor RUNNING with a
  requested pause raises ``ValidationError`` (field ``status``) and changes nothing;
  ``cancel`` of a finished task returns it unchanged.
* ``merge_metadata`` is a shallow merge (top-level keys replace).
* Leaving RUNNING clears owner, token and lease; ``finished_at`` is set for
  SUCCEEDED / FAILED / CANCELLED and cleared otherwise.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from ..clock import from_timestamp, to_timestamp
from ..errors import StoreError, TaskNotFound, ValidationError
from ..models import PRIORITIES, Claim, Task, TaskStatus
from ._memory_cluster import MemoryCluster
from ._rules import moved_run_at, not_paused
from .base import (
    DEFAULT_QUEUE,
    ClaimRequest,
    Finish,
    LogRecord,
    TaskQuery,
    check_update,
    distinct_ids,
)

__all__ = ["MemoryStore"]

_TIME_FIELDS = frozenset({"run_at", "created_at", "updated_at", "finished_at"})
_JSON_FIELDS = frozenset({"metadata", "result", "retry"})
_TASK_FIELDS = tuple(f.name for f in fields(Task))


def _dumps(field: str, value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, value, f"not JSON: {exc}") from None


def _check_priority(priority: object) -> str:
    if priority not in PRIORITIES:
        raise ValidationError("priority", priority, "must be 'high', 'normal' or 'low'")
    return str(priority)


@dataclass
class _Row:
    """One stored task: ``Task`` fields in storage form plus the lease."""

    seq: int
    values: dict[str, Any]  # Task field -> stored value (times as floats, JSON as text)
    owner: str | None = None
    token: str | None = None
    lease_expires_at: float | None = None
    pause_requested: bool = False
    last_run_at: float | None = None  # when the last attempt ended (``finish``)

    @classmethod
    def from_task(cls, seq: int, task: Task) -> _Row:
        status = TaskStatus(task.status)
        if status is TaskStatus.RUNNING:
            raise ValidationError("status", status.value, "a task cannot be added RUNNING")
        if task.run_at is None and not status.finished:
            raise ValidationError("run_at", None, "an unfinished task needs run_at")
        values: dict[str, Any] = {name: getattr(task, name) for name in _TASK_FIELDS}
        values["status"] = status
        values["priority"] = _check_priority(task.priority)
        values["tags"] = tuple(task.tags)
        _dumps("tags", list(task.tags))
        for name in _TIME_FIELDS:
            values[name] = None if values[name] is None else to_timestamp(values[name])
        values["metadata"] = _dumps("metadata", dict(task.metadata))
        values["result"] = _dumps("result", task.result)
        values["retry"] = None if task.retry is None else _dumps("retry", dict(task.retry))
        return cls(seq, values)

    def task(self) -> Task:
        kwargs = dict(self.values)
        for name in _TIME_FIELDS:
            kwargs[name] = from_timestamp(kwargs[name])
        for name in _JSON_FIELDS:
            kwargs[name] = None if kwargs[name] is None else json.loads(kwargs[name])
        return Task(**kwargs)

    @property
    def status(self) -> TaskStatus:
        return TaskStatus(self.values["status"])

    def leave_running(self, status: TaskStatus, now: float) -> None:
        """Drop the lease and move to ``status`` (PAUSED instead of PENDING if requested)."""
        if status is TaskStatus.PENDING and self.pause_requested:
            status = TaskStatus.PAUSED
        self.values["status"] = status
        self.values["finished_at"] = now if status.finished else None
        self.values["updated_at"] = now
        self.owner = self.token = self.lease_expires_at = None
        self.pause_requested = False


def _stored_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` changes in storage form; ``ValidationError`` for an unknown or bad field."""
    out = check_update(changes)
    for field in ("metadata", "retry"):
        if out.get(field) is not None:
            out[field] = _dumps(field, out[field])
    return out


class MemoryStore(MemoryCluster):
    """The ``TaskStore`` in process memory; nothing survives the process.

    Example:
        >>> store = MemoryStore()
        >>> store.counts()["pending"]
        0
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._rows: dict[str, _Row] = {}
        self._keys: dict[str, str] = {}  # idempotency_key -> id
        self._logs: dict[str, list[LogRecord]] = {}
        self._seq = itertools.count(1)
        self._closed = False

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._rows)} tasks)"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the memory task store is closed")

    def _row(self, task_id: str) -> _Row:
        row = self._rows.get(task_id)
        if row is None:
            raise TaskNotFound(task_id)
        return row

    def _live(self, task_id: str, token: str) -> _Row | None:
        row = self._rows.get(task_id)
        if row is None or row.token != token or row.status is not TaskStatus.RUNNING:
            return None
        return row

    # --- creating and reading ---------------------------------------------------------

    def add(self, tasks: Sequence[Task]) -> list[str]:
        """Insert tasks all-or-nothing; returns their ids in order (see ``SQLiteStore.add``)."""
        with self._lock:
            self._check_open()
            rows = [_Row.from_task(0, task) for task in tasks]
            distinct_ids(tasks)
            keys = dict(self._keys)
            out: list[str] = []
            fresh: list[_Row] = []
            for task, row in zip(tasks, rows, strict=True):
                key = task.idempotency_key
                if key is not None and key in keys:
                    out.append(keys[key])
                    continue
                if task.id in self._rows:
                    raise ValidationError("id", task.id, "a task with this id already exists")
                if key is not None:
                    keys[key] = task.id
                out.append(task.id)
                fresh.append(row)
            for row in fresh:
                row.seq = next(self._seq)
                self._rows[row.values["id"]] = row
            self._keys = keys
            return out

    def get(self, task_id: str) -> Task | None:
        """The task, or None."""
        with self._lock:
            self._check_open()
            row = self._rows.get(task_id)
            return None if row is None else row.task()

    def get_many(self, task_ids: Collection[str]) -> dict[str, Task]:
        """The tasks that exist among ``task_ids``, by id."""
        with self._lock:
            self._check_open()
            return {task_id: self._rows[task_id].task() for task_id in task_ids if task_id in self._rows}

    def query(self, query: TaskQuery) -> list[Task]:
        """Tasks matching every set field of ``query``, in creation order, at most ``limit``."""
        if query.limit is not None and query.limit <= 0:
            return []
        statuses = {TaskStatus(status) for status in query.status}
        wanted = {name: getattr(query, name) for name in ("name", "room_id", "world_id", "entity_id")
                  if getattr(query, name) is not None}
        out: list[Task] = []
        with self._lock:
            self._check_open()
            for row in sorted(self._rows.values(), key=lambda r: r.seq):
                values = row.values
                if statuses and row.status not in statuses:
                    continue
                if any(values[name] != value for name, value in wanted.items()):
                    continue
                if not set(query.tags).issubset(values["tags"]):
                    continue
                out.append(row.task())
                if query.limit is not None and len(out) >= query.limit:
                    break
        return out

    # --- changing -------------------------------------------------------------------

    def update(self, task_id: str, changes: Mapping[str, Any], now: float) -> Task:
        """Set updatable fields (metadata and tags replaced whole); ``updated_at = now``.

        Raises:
            ValidationError: a field is not updatable or its value is refused.
            TaskNotFound: no such task.
        """
        stored = _stored_changes(changes)
        with self._lock:
            self._check_open()
            row = self._row(task_id)
            values = row.values
            run_at = moved_run_at(stored, status=row.status.value, interval=values["update_interval"],
                                  last_run_at=row.last_run_at, created_at=values["created_at"],
                                  attempts=values["attempts"], now=now)
            values.update(stored)
            if run_at is not None:
                values["run_at"] = run_at
            values["updated_at"] = now
            return row.task()

    def delete(self, task_id: str) -> bool:
        """Remove the task and its logs; False if there was none."""
        with self._lock:
            self._check_open()
            row = self._rows.pop(task_id, None)
            if row is None:
                return False
            key = row.values["idempotency_key"]
            if key is not None:
                self._keys.pop(key, None)
            self._logs.pop(task_id, None)
            return True

    # --- leases ------------------------------------------------------------------------

    def claim(self, names: Collection[str], limit: int, now: float, owner: str,
              lease_ttl: float) -> list[Claim]:
        """Lease up to ``limit`` due PENDING tasks named in ``names`` (``run_at <= now``)."""
        wanted = set(names)
        if not wanted or limit <= 0:
            return []
        with self._lock:
            self._check_open()
            due = [row for row in self._rows.values()
                   if row.status is TaskStatus.PENDING and row.values["name"] in wanted
                   and row.values["run_at"] <= now]
            due.sort(key=lambda r: (PRIORITIES.index(r.values["priority"]), r.values["run_at"], r.seq))
            claims: list[Claim] = []
            for row in due[:limit]:
                row.values["status"] = TaskStatus.RUNNING
                row.values["attempts"] += 1
                row.values["updated_at"] = now
                row.owner, row.token, row.lease_expires_at = owner, uuid.uuid4().hex, now + lease_ttl
                claims.append(Claim(row.task(), row.token))
            return claims

    def add_and_claim(self, tasks: Sequence[Task], now: float,
                      claim: ClaimRequest) -> tuple[list[str], list[Claim]]:
        """``add`` then ``claim`` under one lock hold (see ``TaskStore.add_and_claim``)."""
        with self._lock:
            ids = self.add(tasks)
            return ids, self.claim(claim.names, claim.limit, now, claim.owner, claim.lease_ttl)

    def finish_and_claim(self, finishes: Sequence[Finish], now: float,
                         claim: ClaimRequest) -> tuple[list[str], list[Claim]]:
        """``finish`` then ``claim`` under one lock hold (see ``TaskStore.finish_and_claim``)."""
        with self._lock:
            applied = self.finish(finishes, now)
            return applied, self.claim(claim.names, claim.limit, now, claim.owner, claim.lease_ttl)

    def renew(self, owner: str, now: float, lease_ttl: float) -> int:
        """Extend every lease ``owner`` holds to ``now + lease_ttl``; returns how many."""
        with self._lock:
            self._check_open()
            count = 0
            for row in self._rows.values():
                if row.owner == owner and row.status is TaskStatus.RUNNING:
                    row.lease_expires_at = now + lease_ttl
                    count += 1
            return count

    def release(self, claims: Sequence[tuple[str, str]], now: float) -> int:
        """RUNNING → PENDING (PAUSED if a pause was requested), ``attempts - 1``; stale pairs ignored."""
        with self._lock:
            self._check_open()
            count = 0
            for task_id, token in claims:
                row = self._live(task_id, token)
                if row is not None:
                    row.values["attempts"] = max(row.values["attempts"] - 1, 0)
                    row.leave_running(TaskStatus.PENDING, now)
                    count += 1
            return count

    def finish(self, finishes: Sequence[Finish], now: float) -> list[str]:
        """Apply attempt ends all-or-nothing; returns the ids applied (see ``SQLiteStore.finish``)."""
        results: list[str] = []
        for item in finishes:
            if TaskStatus(item.status) is TaskStatus.RUNNING:
                raise ValidationError("status", item.status.value, "an attempt cannot finish RUNNING")
            results.append(_dumps("result", item.result))
        with self._lock:
            self._check_open()
            applied: list[str] = []
            for item, result in zip(finishes, results, strict=True):
                row = self._live(item.task_id, item.token)
                if row is None:
                    continue
                values = row.values
                if item.run_at is not None:
                    values["run_at"] = item.run_at
                values.update(result=result, error=item.error, failure_count=item.failure_count,
                              crash_count=item.crash_count)
                row.last_run_at = now
                row.leave_running(TaskStatus(item.status), now)
                applied.append(item.task_id)
            return applied

    def set_progress(self, task_id: str, token: str, progress: float, now: float) -> bool:
        """Record progress of a running attempt; False if the token is stale."""
        with self._lock:
            self._check_open()
            row = self._live(task_id, token)
            if row is None:
                return False
            row.values.update(progress=progress, updated_at=now)
            return True

    def merge_metadata(self, task_id: str, token: str | None, values: Mapping[str, Any],
                       now: float) -> bool:
        """Shallow-merge ``values`` into the metadata (fenced when ``token`` is given).

        Raises:
            ValidationError: ``values`` is not JSON; nothing changes.
        """
        patch = json.loads(_dumps("metadata", dict(values)))
        with self._lock:
            self._check_open()
            row = self._rows.get(task_id) if token is None else self._live(task_id, token)
            if row is None:
                return False
            merged = {**json.loads(row.values["metadata"]), **patch}
            row.values.update(metadata=_dumps("metadata", merged), updated_at=now)
            return True

    def append_logs(self, records: Sequence[LogRecord]) -> None:
        """Keep log lines with their attempt; lines of tasks that do not exist are dropped."""
        with self._lock:
            self._check_open()
            for record in records:
                if record.task_id in self._rows:
                    self._logs.setdefault(record.task_id, []).append(record)

    def logs(self, task_id: str) -> list[LogRecord]:
        """The task's log lines, oldest first (by ``created``, then by arrival)."""
        with self._lock:
            self._check_open()
            return sorted(self._logs.get(task_id, ()), key=lambda record: record.created)

    # --- user transitions ----------------------------------------------------------------

    def pause(self, task_id: str, now: float) -> Task:
        """PENDING → PAUSED; RUNNING: pause requested; otherwise unchanged. Returns the task after.

        Raises:
            TaskNotFound: no such task.
        """
        with self._lock:
            self._check_open()
            row = self._row(task_id)
            if row.status is TaskStatus.PENDING:
                row.values.update(status=TaskStatus.PAUSED, updated_at=now)
            elif row.status is TaskStatus.RUNNING:
                row.pause_requested = True
                row.values["updated_at"] = now
            return row.task()

    def resume(self, task_id: str, now: float) -> Task:
        """PAUSED → PENDING, ``failure_count = 0``; RUNNING: requested pause withdrawn. Returns it after.

        Raises:
            TaskNotFound: no such task. ValidationError: it is neither (``status``).
        """
        with self._lock:
            self._check_open()
            row = self._row(task_id)
            if row.status is TaskStatus.PAUSED:
                row.values.update(status=TaskStatus.PENDING, failure_count=0, updated_at=now)
            elif row.status is TaskStatus.RUNNING and row.pause_requested:
                row.pause_requested = False
                row.values["updated_at"] = now
            else:
                raise not_paused(row.status.value)
            return row.task()

    def cancel(self, task_id: str, now: float) -> Task | None:
        """Unfinished → CANCELLED (lease dropped); returns the task as it was, None if unknown."""
        with self._lock:
            self._check_open()
            row = self._rows.get(task_id)
            if row is None:
                return None
            before = row.task()
            if not row.status.finished:
                row.leave_running(TaskStatus.CANCELLED, now)
            return before

    # --- maintenance ----------------------------------------------------------------------

    def reclaim_expired(self, now: float, max_crashes: int) -> list[Task]:
        """Expired leases → PENDING (PAUSED if requested) with crash + 1, or FAILED at ``max_crashes``."""
        with self._lock:
            self._check_open()
            expired = [row for row in self._rows.values() if row.status is TaskStatus.RUNNING
                       and row.lease_expires_at is not None and row.lease_expires_at <= now]
            expired.sort(key=lambda r: (r.lease_expires_at, r.seq))
            out: list[Task] = []
            for row in expired:
                crashes = row.values["crash_count"] + 1
                owner = row.owner
                row.values["crash_count"] = crashes
                if max_crashes >= 1 and crashes >= max_crashes:
                    row.values["error"] = (f"Quarantined: the lease expired {crashes} times "
                                           f"(max_crashes={max_crashes}); last owner {owner!r}")
                    row.leave_running(TaskStatus.FAILED, now)
                else:
                    row.values["error"] = f"Crashed: the lease of owner {owner!r} expired"
                    row.leave_running(TaskStatus.PENDING, now)
                out.append(row.task())
            return out

    def next_due(self, names: Collection[str]) -> float | None:
        """The earliest ``run_at`` of a PENDING task named in ``names``, or None."""
        wanted = set(names)
        with self._lock:
            self._check_open()
            due = [row.values["run_at"] for row in self._rows.values()
                   if row.status is TaskStatus.PENDING and row.values["name"] in wanted]
        return min(due) if due else None

    def next_lease_expiry(self) -> float | None:
        """The earliest ``lease_expires_at`` of any RUNNING task, or None."""
        with self._lock:
            self._check_open()
            leases = [row.lease_expires_at for row in self._rows.values()
                      if row.status is TaskStatus.RUNNING and row.lease_expires_at is not None]
        return min(leases) if leases else None

    def prune(self, before: float) -> int:
        """Delete SUCCEEDED / FAILED / CANCELLED tasks (and logs) with ``finished_at < before``."""
        with self._lock:
            self._check_open()
            doomed = [task_id for task_id, row in self._rows.items() if row.status.finished
                      and row.values["finished_at"] is not None and row.values["finished_at"] < before]
            for task_id in doomed:
                self.delete(task_id)
            self._prune_firings(before)
            return len(doomed)

    def counts(self) -> dict[str, int]:
        """Number of tasks by status value (every status present, zeros included)."""
        out = {status.value: 0 for status in TaskStatus}
        with self._lock:
            self._check_open()
            for row in self._rows.values():
                out[row.status.value] += 1
        return out

    def counts_by_queue(self) -> dict[str, dict[str, int]]:
        """Per queue (None counted as ``DEFAULT_QUEUE``), tasks by status value, zeros included."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            self._check_open()
            for row in self._rows.values():
                queue = row.values["queue"] or DEFAULT_QUEUE
                counts = out.setdefault(queue, {status.value: 0 for status in TaskStatus})
                counts[row.status.value] += 1
        return out

    def pending_names(self) -> dict[str, int]:
        """PENDING task counts by name (names with none are left out)."""
        out: dict[str, int] = {}
        with self._lock:
            self._check_open()
            for row in self._rows.values():
                if row.status is TaskStatus.PENDING:
                    out[row.values["name"]] = out.get(row.values["name"], 0) + 1
        return out

    def close(self) -> None:
        """Forget nothing but refuse further calls (``StoreError``). Idempotent."""
        with self._lock:
            self._closed = True
