"""``actors schedules``: every schedule in the store (cron or period, next and last fire time)."""

from __future__ import annotations

import argparse
from typing import Any

from . import _render as render
from ._common import OK, command, printed_json, read

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``schedules`` to the ``actors`` parser."""
    command(sub, "schedules", common, list_schedules, "the schedules that create tasks (cron, every)")


def list_schedules(args: argparse.Namespace) -> int:
    found = read(args, lambda sup: sup.get_schedules())
    if printed_json(args, found):
        return OK
    render.table(["key", "task", "when", "next fire", "last fire"],
                 [[s.key, s.name, f"cron {s.cron}" if s.cron else f"every {s.every:g}s", render.when(s.next_fire),
                   render.when(s.last_fire)] for s in found], empty="no schedules")
    return OK
