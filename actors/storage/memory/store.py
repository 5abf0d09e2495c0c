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
import math
import threading
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ...errors import StoreError, TaskNotFound, ValidationError
from ...models import PRIORITIES, Task, TaskStatus
from ...spec import check_search, words
from .._rules import RETRYABLE, key_times, moved_run_at, not_paused, not_retryable
from ..base import (
    LogRecord,
    TaskQuery,
    distinct_ids,
)
from .attempts import MemoryAttempts
from .cluster import MemoryCluster
from .iterations import MemoryIterations
from .maintenance import MemoryMaintenance
from .queues import MemoryQueues
from .rows import Row, stored_changes

__all__ = ["MemoryStore"]


def _created(row: Row) -> tuple[int]:
    return (row.seq,)


def _newest_finished(row: Row) -> tuple[bool, float, int]:
    finished = row.values["finished_at"]  # (None last, as the SQL stores' ``DESC NULLS LAST``)
    return (finished is None, -(finished or 0.0), -row.seq)

def _run_order(row: Row) -> tuple[int, float, int]:
    return (PRIORITIES.index(row.values["priority"]), row.values["run_at"] or math.inf, row.seq)


_FILTERS = ("name", "room_id", "world_id", "entity_id", "queue", "parent_id")  # TaskQuery's equality filters


class MemoryStore(MemoryQueues, MemoryAttempts, MemoryIterations, MemoryMaintenance, MemoryCluster):
    """The ``TaskStore`` in process memory; nothing survives the process.

    Example:
        >>> store = MemoryStore()
        >>> store.counts()["pending"]
        0
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._rows: dict[str, Row] = {}
        self._keys: dict[str, str] = {}  # idempotency_key -> id
        self._logs: dict[str, list[LogRecord]] = {}
        self._seq = itertools.count(1)
        self._closed = False

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._rows)} tasks)"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the memory task store is closed")

    def _row(self, task_id: str) -> Row:
        row = self._rows.get(task_id)
        if row is None:
            raise TaskNotFound(task_id)
        return row

    def _live(self, task_id: str, token: str) -> Row | None:
        row = self._rows.get(task_id)
        if row is None or row.token != token or row.status is not TaskStatus.RUNNING:
            return None
        return row

    # --- creating and reading ---------------------------------------------------------

    def add(self, tasks: Sequence[Task]) -> list[str]:
        """Insert tasks all-or-nothing; returns their ids in order (see ``SQLiteStore.add``)."""
        with self._lock:
            self._check_open()
            rows = [Row.from_task(0, task) for task in tasks]
            distinct_ids(tasks)
            keys = dict(self._keys)
            expired = []  # rows whose key expired at the new task's creation: they give it up
            for used, at in key_times(tasks).items():
                holder = self._rows.get(keys.get(used, ""))
                if holder is None:
                    keys.pop(used, None)  # (its task was deleted or pruned)
                elif (expires := holder.values["idempotency_expires_at"]) is not None and expires <= at:
                    expired.append(holder)
                    del keys[used]
            out: list[str] = []
            fresh: list[Row] = []
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
            for row in expired:
                row.values.update(idempotency_key=None, idempotency_expires_at=None)
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
        wanted = {name: getattr(query, name) for name in _FILTERS if getattr(query, name) is not None}
        out: list[Task] = []
        with self._lock:
            self._check_open()
            order = _newest_finished if query.newest_first else _run_order if query.run_order else _created
            skip = query.offset
            for row in sorted(self._rows.values(), key=order):
                values = row.values
                if statuses and row.status not in statuses:
                    continue
                if any(values[name] != value for name, value in wanted.items()):
                    continue
                if not set(query.tags).issubset(values["tags"]):
                    continue
                if skip:
                    skip -= 1
                    continue
                out.append(row.task())
                if query.limit is not None and len(out) >= query.limit:
                    break
        return out

    def search(self, text: str, *, limit: int | None = None) -> list[Task]:
        """Full-text search over names, descriptions and tags (see ``TaskStore.search``): the
        rows are read in creation order and their words (``spec.words``) matched."""
        wanted, limit = check_search(text, limit)
        if not wanted or limit == 0:
            return []
        out: list[Task] = []
        with self._lock:
            self._check_open()
            for row in sorted(self._rows.values(), key=lambda r: r.seq):
                values = row.values
                have = set(words(" ".join((values["name"], values["description"], *values["tags"]))))
                if have.issuperset(wanted):
                    out.append(row.task())
                    if limit is not None and len(out) >= limit:
                        break
        return out

    # --- changing -------------------------------------------------------------------

    def update(self, task_id: str, changes: Mapping[str, Any], now: float) -> Task:
        """Set updatable fields (metadata and tags replaced whole); ``updated_at = now``.

        Raises:
            ValidationError: a field is not updatable or its value is refused.
            TaskNotFound: no such task.
        """
        stored = stored_changes(changes)
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

    def retry(self, task_id: str, now: float) -> Task:
        """FAILED / CANCELLED → PENDING now, counts reset (``TaskStore.retry``). Returns it after.

        Raises:
            TaskNotFound: no such task. ValidationError: any other state (``status``).
        """
        with self._lock:
            self._check_open()
            row = self._row(task_id)
            if row.status.value not in RETRYABLE:
                raise not_retryable(row.status.value)
            row.values.update(status=TaskStatus.PENDING, run_at=now, attempts=0, failure_count=0, crash_count=0,
                              finished_at=None, updated_at=now)
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

    def close(self) -> None:
        """Forget nothing but refuse further calls (``StoreError``). Idempotent."""
        with self._lock:
            self._closed = True
