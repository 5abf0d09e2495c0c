"""MemoryStore's leases and attempts: claim, renew, release, finish, progress, metadata, logs.

A mixin of ``MemoryStore`` (``store``); every call holds the store's lock.
"""


from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from ...models import PRIORITIES, Claim, Task, TaskStatus
from ...spec import check_finish_status
from .._gate import Gate, gated, queue_of
from ..base import (
    ClaimRequest,
    Finish,
    LogRecord,
)
from .rows import Row, dumps_json

__all__ = ["MemoryAttempts"]


class MemoryAttempts:
    """Claims and attempt ends of ``MemoryStore`` (see ``TaskStore``)."""

    _lock: threading.RLock
    _rows: dict[str, Row]
    _logs: dict[str, list[LogRecord]]
    _check_open: Callable[[], None]
    _live: Callable[[str, str], Row | None]
    add: Callable[[Sequence[Task]], list[str]]
    _gate: Callable[[float], Gate | None]
    _record_starts: Callable[[Gate, float], None]

    # --- leases ------------------------------------------------------------------------

    def claim(self, names: Collection[str], limit: int, now: float, owner: str,
              lease_ttl: float, queues: Collection[str] | None = None) -> list[Claim]:
        """Lease up to ``limit`` due PENDING tasks named in ``names`` (``run_at <= now``), of
        ``queues`` only when given, within the queues' limits (``_gate``)."""
        wanted = set(names)
        if not wanted or limit <= 0:
            return []
        with self._lock:
            self._check_open()
            only = None if queues is None else set(queues)
            due = [row for row in self._rows.values()
                   if row.status is TaskStatus.PENDING and row.values["name"] in wanted
                   and row.values["run_at"] <= now
                   and (only is None or queue_of(row.values["queue"]) in only)]
            due.sort(key=lambda r: (PRIORITIES.index(r.values["priority"]), r.values["run_at"], r.seq))
            gate = self._gate(now)
            self.claim_held_back = False
            if gate is None:
                chosen = due[:limit]
            else:
                def fetch(size: int, blocked: list[str], keys: list[tuple[str, str]]) -> list[Row]:
                    out = (row for row in due if queue_of(row.values["queue"]) not in blocked
                           and (queue_of(row.values["queue"]), row.values["concurrency_key"]) not in keys)
                    return list(itertools.islice(out, size))
                chosen = gated(fetch, limit, gate, lambda r: (r.seq, queue_of(r.values["queue"]),
                                                             r.values["concurrency_key"]))
                self._record_starts(gate, now)
                self.claim_held_back = gate.held
            claims: list[Claim] = []
            for row in chosen:
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
            return ids, self._claim_for(claim, now)

    def finish_and_claim(self, finishes: Sequence[Finish], now: float,
                         claim: ClaimRequest) -> tuple[list[str], list[Claim]]:
        """``finish`` then ``claim`` under one lock hold (see ``TaskStore.finish_and_claim``)."""
        with self._lock:
            applied = self.finish(finishes, now)
            return applied, self._claim_for(claim, now)

    def _claim_for(self, claim: ClaimRequest, now: float) -> list[Claim]:
        # through ``claim`` (a subclass that wraps it sees these claims too); ``queues`` only when set
        extra = {} if claim.queues is None else {"queues": claim.queues}
        return self.claim(claim.names, claim.limit, now, claim.owner, claim.lease_ttl, **extra)

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

    def suspend(self, items: Sequence[tuple[str, str, float]], now: float) -> list[str]:
        """RUNNING → PENDING due at ``run_at``, ``attempts - 1`` (see ``TaskStore.suspend``)."""
        with self._lock:
            self._check_open()
            applied: list[str] = []
            for task_id, token, run_at in items:
                row = self._live(task_id, token)
                if row is not None:
                    row.values["attempts"] = max(row.values["attempts"] - 1, 0)
                    row.values["run_at"] = run_at
                    row.leave_running(TaskStatus.PENDING, now)
                    applied.append(task_id)
            return applied

    def finish(self, finishes: Sequence[Finish], now: float) -> list[str]:
        """Apply attempt ends all-or-nothing; returns the ids applied (see ``SQLiteStore.finish``)."""
        results: list[str] = []
        for item in finishes:
            check_finish_status(item.status)
            results.append(dumps_json("result", item.result))
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
                if item.clear_steps:
                    values["steps"] = "{}"
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
        patch = json.loads(dumps_json("metadata", dict(values)))
        with self._lock:
            self._check_open()
            row = self._rows.get(task_id) if token is None else self._live(task_id, token)
            if row is None:
                return False
            merged = {**json.loads(row.values["metadata"]), **patch}
            row.values.update(metadata=dumps_json("metadata", merged), updated_at=now)
            return True

    def append_logs(self, records: Sequence[LogRecord]) -> None:
        """Keep log lines with their attempt; lines of tasks that do not exist are dropped."""
        with self._lock:
            self._check_open()
            for record in records:
                if record.task_id in self._rows:
                    self._logs.setdefault(record.task_id, []).append(record)

    def logs(self, task_id: str, iteration: int | None = None) -> list[LogRecord]:
        """The task's log lines, oldest first (by ``created``, then by arrival): those of
        ``iteration``, or all of them (None)."""
        with self._lock:
            self._check_open()
            records = self._logs.get(task_id, ())
            if iteration is not None:
                records = [record for record in records if record.iteration == iteration]
            return sorted(records, key=lambda record: record.created)
