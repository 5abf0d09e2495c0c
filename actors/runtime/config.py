"""The settings of one node's supervisor (``SupervisorConfig``), validated by ``Supervisor.start``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SupervisorConfig"]


@dataclass(frozen=True)
class SupervisorConfig:
    """Settings of one node's supervisor (validated by ``Supervisor.start``)."""

    node_id: str
    lease_ttl: float = 30.0
    slots: dict[str, int] = field(default_factory=dict)  # capacity per kind of worker
    pool: dict[str, int] = field(default_factory=dict)  # worker actors per kind (see planner.no_room)
    max_batch: int = 16  # most jobs one worker holds at once
    max_crashes: int = 3
    retention: float = 7 * 24 * 3600.0
    abort_grace: float = 2.0
    orphan_grace: float = 60.0
    serving: bool = True
    info: dict[str, Any] | None = None  # what this node tells other nodes about itself
    default_timeout: float | None = None  # an attempt's limit when neither task nor worker sets one
    max_restarts: int = 5  # restart intensity: more than this many child restarts ...
    restart_window: float = 10.0  # ... within this many seconds and the node stops itself
    dispatch: str = "direct"  # "actor": a priority-queue actor feeds the workers (runtime/dispatch.py)
    queues: tuple[str, ...] | None = None  # claim only these queues (None: every queue)
