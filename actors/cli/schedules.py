"""``actors schedules``: every schedule in the store (cron or period, next and last fire time)."""

from __future__ import annotations

import argparse
from typing import Any

from . import _render as render
from ._common import OK, client, wants_json

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``schedules`` to the ``actors`` parser."""
    schedules = sub.add_parser("schedules", parents=[common], help="the schedules that create tasks (cron, every)")
    schedules.set_defaults(run=list_schedules)


def list_schedules(args: argparse.Namespace) -> int:
    with client(args) as sup:
        found = sup.get_schedules()
    if wants_json(args):
        render.print_json(found)
        return OK
    render.table(["key", "task", "when", "next fire", "last fire"],
                 [[s.key, s.name, f"cron {s.cron}" if s.cron else f"every {s.every:g}s", render.when(s.next_fire),
                   render.when(s.last_fire)] for s in found], empty="no schedules")
    return OK
