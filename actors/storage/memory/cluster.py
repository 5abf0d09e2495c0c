"""Nodes, leases and schedules of ``MemoryStore`` (the same semantics as ``sql.cluster``).

Values are kept in storage form (times as epoch seconds, JSON as text) so what
comes back never aliases what went in. The host store provides ``_lock``,
``_check_open()`` and ``add()``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ...clock import from_timestamp, to_timestamp
from ...models import Node, Schedule, Task
from ...spec import json_text, required_time
from ..base import Firing

__all__ = ["MemoryCluster"]


_text = json_text


class MemoryCluster:
    """The node, lease and schedule transitions of ``TaskStore`` in dicts."""

    _lock: threading.RLock

    def __init__(self) -> None:
        self._nodes: dict[str, tuple[float, float, float, str]] = {}  # id -> started, beat, expires, info
        self._leases: dict[str, tuple[str, float]] = {}  # name -> holder, expires
        self._schedules: dict[str, dict[str, Any]] = {}
        self._firings: dict[tuple[str, float], float] = {}  # (key, fire time) -> fired at

    def _check_open(self) -> None:
        raise NotImplementedError

    def add(self, tasks: Sequence[Task]) -> list[str]:
        raise NotImplementedError

    def heartbeat(self, node_id: str, now: float, ttl: float, info: Mapping[str, Any]) -> None:
        """Record that ``node_id`` is alive until ``now + ttl`` (first call: registers it)."""
        text = _text("info", dict(info))
        with self._lock:
            self._check_open()
            started = self._nodes[node_id][0] if node_id in self._nodes else now
            self._nodes[node_id] = (started, now, now + ttl, text)

    def leave(self, node_id: str) -> None:
        """Remove the node's row (a graceful stop). Unknown ids are ignored."""
        with self._lock:
            self._check_open()
            self._nodes.pop(node_id, None)

    def nodes(self) -> list[Node]:
        """Every registered node, alive or not, oldest first."""
        with self._lock:
            self._check_open()
            rows = sorted(self._nodes.items(), key=lambda item: (item[1][0], item[0]))
        return [Node(node_id=node_id, started_at=from_timestamp(started), heartbeat_at=from_timestamp(beat),
                     expires_at=from_timestamp(expires), info=json.loads(info))
                for node_id, (started, beat, expires, info) in rows]

    def forget_nodes(self, expired_before: float) -> int:
        """Delete node rows whose heartbeat expired before ``expired_before``; returns how many."""
        with self._lock:
            self._check_open()
            doomed = [node_id for node_id, row in self._nodes.items() if row[2] < expired_before]
            for node_id in doomed:
                del self._nodes[node_id]
        return len(doomed)

    def acquire_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        """Take or renew the lease ``name`` until ``now + ttl`` (free, ours, or expired)."""
        with self._lock:
            self._check_open()
            current = self._leases.get(name)
            if current is None or current[0] == holder or current[1] <= now:
                self._leases[name] = (holder, now + ttl)
                return True
            return False

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up if ``holder`` has it; True if it did."""
        with self._lock:
            self._check_open()
            if self._leases.get(name, ("", 0.0))[0] != holder:
                return False
            del self._leases[name]
            return True

    def lease_holder(self, name: str, now: float) -> str | None:
        """Who holds the unexpired lease ``name``, or None."""
        with self._lock:
            self._check_open()
            current = self._leases.get(name)
        return current[0] if current is not None and current[1] > now else None

    def put_schedule(self, schedule: Schedule, *, if_absent: bool = False) -> Schedule:
        """Insert or replace the schedule ``schedule.key`` (``next_fire`` must be set);
        ``if_absent``: keep a stored one as it is."""
        created = required_time("created_at", schedule.created_at)
        row = {
            "key": schedule.key, "name": schedule.name, "cron": schedule.cron, "every": schedule.every,
            "fields": _text("fields", dict(schedule.fields)),
            "next_fire": required_time("next_fire", schedule.next_fire), "created_at": created,
            "updated_at": created if schedule.updated_at is None else to_timestamp(schedule.updated_at),
            "last_fire": None if schedule.last_fire is None else to_timestamp(schedule.last_fire),
        }
        with self._lock:
            self._check_open()
            old = self._schedules.get(schedule.key)
            if old is not None and if_absent:
                return self._schedule(old)
            if old is not None:
                row["created_at"], row["last_fire"] = old["created_at"], old["last_fire"]
            self._schedules[schedule.key] = row
            return self._schedule(row)

    @staticmethod
    def _schedule(row: Mapping[str, Any]) -> Schedule:
        return Schedule(key=row["key"], name=row["name"], cron=row["cron"], every=row["every"],
                        fields=json.loads(row["fields"]), next_fire=from_timestamp(row["next_fire"]),
                        last_fire=from_timestamp(row["last_fire"]), created_at=from_timestamp(row["created_at"]),
                        updated_at=from_timestamp(row["updated_at"]))

    def schedules(self, due_before: float | None = None) -> list[Schedule]:
        """Schedules by key; only those with ``next_fire <= due_before`` when it is given."""
        with self._lock:
            self._check_open()
            rows = [row for _, row in sorted(self._schedules.items())
                    if due_before is None or row["next_fire"] <= due_before]
            return [self._schedule(row) for row in rows]

    def delete_schedule(self, key: str) -> bool:
        """Remove the schedule (its recorded firings stay until pruned); False if none."""
        with self._lock:
            self._check_open()
            return self._schedules.pop(key, None) is not None

    def next_fire(self) -> float | None:
        """The earliest ``next_fire`` of any schedule, or None."""
        with self._lock:
            self._check_open()
            times = [row["next_fire"] for row in self._schedules.values()]
        return min(times) if times else None

    def fire(self, firings: Sequence[Firing], now: float) -> list[str]:
        """Record firings at once; returns the ids of the tasks created (see ``TaskStore.fire``)."""
        with self._lock:
            self._check_open()
            tasks: dict[tuple[str, float], Task] = {}
            for firing in firings:
                key = (firing.key, firing.fire_time)
                if key not in self._firings:
                    tasks.setdefault(key, firing.task)
            self.add(list(tasks.values()))  # all or nothing: a refused task records no firing
            for key in tasks:
                self._firings[key] = now
            for firing in firings:
                row = self._schedules.get(firing.key)
                if row is not None and row["next_fire"] == firing.expected:
                    row.update(next_fire=firing.next_fire, last_fire=firing.fire_time, updated_at=now)
            return [task.id for task in tasks.values()]

    def _prune_firings(self, before: float) -> None:
        """Forget firings recorded before ``before`` (the host calls it under its lock)."""
        for key in [key for key, fired in self._firings.items() if fired < before]:
            del self._firings[key]
