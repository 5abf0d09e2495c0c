"""The store's transitions for several nodes sharing one store (``Clustering``, part of the
``TaskStore`` protocol): node heartbeats, named leases (the leader's) and schedules with
their firings (``Firing``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..models import Node, Schedule, Task

__all__ = ["Clustering", "Firing"]


@dataclass(frozen=True)
class Firing:
    """One fire time of a schedule, as the leader decided it (``TaskStore.fire``).

    ``task`` is created only if (``key``, ``fire_time``) was never recorded; the
    schedule's ``next_fire`` moves to ``next_fire`` only if it still equals
    ``expected`` (so two leaders for a moment cannot both advance it).
    """

    key: str
    fire_time: float
    expected: float
    next_fire: float
    task: Task


class Clustering(Protocol):
    """Nodes, leases and schedules; implemented by every ``TaskStore``."""

    def heartbeat(self, node_id: str, now: float, ttl: float, info: Mapping[str, Any]) -> None:
        """Record that ``node_id`` is alive until ``now + ttl`` (first call: registers it)."""
        ...

    def leave(self, node_id: str) -> None:
        """Remove the node's row (a graceful stop). Unknown ids are ignored."""
        ...

    def nodes(self) -> list[Node]:
        """Every registered node, alive or not, oldest first."""
        ...

    def forget_nodes(self, expired_before: float) -> int:
        """Delete node rows whose heartbeat expired before ``expired_before``; returns how many."""
        ...

    def acquire_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        """Take or renew the lease ``name`` until ``now + ttl``.

        Succeeds when nobody holds it, its holder is ``holder``, or it expired; at most
        one holder at any time.
        """
        ...

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up if ``holder`` has it; True if it did."""
        ...

    def lease_holder(self, name: str, now: float) -> str | None:
        """Who holds the unexpired lease ``name``, or None."""
        ...

    def put_schedule(self, schedule: Schedule, *, if_absent: bool = False) -> Schedule:
        """Insert or replace the schedule ``schedule.key`` (``next_fire`` must be set); returns
        the stored one. ``if_absent``: insert only when no schedule has that key, else keep the
        stored one as it is (atomic: of nodes racing, one inserts; a periodic worker's ensure)."""
        ...

    def schedules(self, due_before: float | None = None) -> list[Schedule]:
        """Schedules by key; only those with ``next_fire <= due_before`` when it is given."""
        ...

    def delete_schedule(self, key: str) -> bool:
        """Remove the schedule (its recorded firings stay until pruned); False if none."""
        ...

    def next_fire(self) -> float | None:
        """The earliest ``next_fire`` of any schedule, or None."""
        ...

    def fire(self, firings: Sequence[Firing], now: float) -> list[str]:
        """Record firings in one transaction; returns the ids of the tasks created.

        A (key, fire_time) already recorded creates nothing. Firings are pruned with
        finished tasks (``prune``).
        """
        ...
