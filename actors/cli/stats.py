"""``actors stats``: the store's counts by status and queue, the nodes serving it, and health.

Read through a client-only node, so the figures are the store's (every node sharing it);
``--json`` prints that node's ``Supervisor.stats()`` whole (its own ``workers`` are 0: it
runs nothing).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..models import TaskStatus
from . import _render as render
from ._common import OK, command, printed_json, read

__all__ = ["register"]

_STATUSES = [status.value for status in TaskStatus]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``stats`` to the ``actors`` parser."""
    command(sub, "stats", common, show_stats, "counts by status and queue, nodes, health")


def show_stats(args: argparse.Namespace) -> int:
    stats = read(args, lambda sup: sup.stats())
    if printed_json(args, stats):
        return OK
    counts: dict[str, int] = stats["tasks"]
    render.table(["", *_STATUSES, "total"], [["tasks", *(counts.get(s, 0) for s in _STATUSES), sum(counts.values())]],
                 title="Tasks")
    render.line()
    render.table(["queue", *_STATUSES], [[name, *(by_status.get(s, 0) for s in _STATUSES)]
                                         for name, by_status in sorted(stats["queues"].items())],
                 title="Queues", empty="no queues")
    render.line()
    render.table(["node", "alive", "host", "pid", "workers", "started", "heartbeat"],
                 [[node["node_id"], "yes" if node["alive"] else "no", node["info"].get("host", ""),
                   node["info"].get("pid", ""), node["info"].get("workers", ""), render.when(node["started_at"]),
                   render.when(node["heartbeat_at"])] for node in stats["nodes"]],
                 title="Nodes", empty="no node serves this store")
    health = stats["health"]
    failing = sorted(name for group in ("loops", "ops") for name, loop in health.get(group, {}).items()
                     if not loop.get("ok", True))
    render.line()
    render.line("health: ok" if health.get("ok", True) and not failing
                else "health: failing (" + ", ".join(failing) + ")")
    return OK
