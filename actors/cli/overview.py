"""``actors stats`` and ``actors schedules``: what the store holds, read through a client-only node.

``stats``: counts by status and by queue, the nodes serving the store, and health; the figures
are the store's (every node sharing it). ``--json`` prints that node's ``Supervisor.stats()``
whole (its own ``workers`` are 0: it runs nothing). ``schedules``: every schedule (cron or
period) with its next and last fire time.
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
    """Add ``stats`` and ``schedules`` to the ``actors`` parser."""
    command(sub, "stats", common, show_stats, "counts by status and queue, nodes, health")
    command(sub, "schedules", common, list_schedules, "the schedules that create tasks (cron, every)")


def show_stats(args: argparse.Namespace) -> int:
    stats = read(args, lambda sup: sup.stats())
    if printed_json(args, stats):
        return OK
    counts: dict[str, int] = stats["tasks"]
    render.table(["", *_STATUSES, "total"], [["tasks", *(counts.get(s, 0) for s in _STATUSES), sum(counts.values())]],
                 title="Tasks")
    render.line()
    render.table(["queue", *_STATUSES], [[name, *(queue["counts"].get(s, 0) for s in _STATUSES)]
                                         for name, queue in sorted(stats["queues"].items())],
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


def list_schedules(args: argparse.Namespace) -> int:
    found = read(args, lambda sup: sup.get_schedules())
    if printed_json(args, found):
        return OK
    render.table(["key", "task", "when", "next fire", "last fire"],
                 [[s.key, s.name, f"cron {s.cron}" if s.cron else f"every {s.every:g}s", render.when(s.next_fire),
                   render.when(s.last_fire)] for s in found], empty="no schedules")
    return OK
