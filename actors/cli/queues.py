"""``actors queues`` and ``actors queues set NAME``: the queues' settings and counts, and changing them.

``queues set`` passes only the options given to ``Supervisor.set_queue`` (an option not
given keeps its stored value; ``none`` removes that limit). The settings live in the store,
so every node sharing it obeys the change at once.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..models import QueueInfo
from . import _render as render
from ._common import OK, USAGE, CommandError, command, printed_json, read

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``queues`` (and ``queues set``) to the ``actors`` parser."""
    queues = command(sub, "queues", common, list_queues, "queues: limits, pause state, counts (set: change one)")
    actions = queues.add_subparsers(dest="action", metavar="ACTION")
    change = command(actions, "set", common, set_queue, "declare a queue or change its limits")
    change.add_argument("name", help="the queue")
    change.add_argument("--concurrency", type=_limit, metavar="N",
                        help="most of its tasks running at once, across nodes ('none': no limit)")
    change.add_argument("--key-concurrency", type=_limit, metavar="N",
                        help="most running per concurrency key ('none': no limit)")
    change.add_argument("--rate-limit", type=_rate, metavar="R",
                        help="most attempts started per period: N/s, N/m or N/h ('none': no limit)")
    paused = change.add_mutually_exclusive_group()
    paused.add_argument("--pause", dest="paused", action="store_const", const=True,
                        help="start nothing new from it (its tasks wait)")
    paused.add_argument("--resume", dest="paused", action="store_const", const=False,
                        help="start its tasks again")


def list_queues(args: argparse.Namespace) -> int:
    found = read(args, lambda sup: sup.get_queues())
    if printed_json(args, found):
        return OK
    render.table(_COLUMNS, [_row(queue) for queue in found], empty="no queues")
    return OK


def set_queue(args: argparse.Namespace) -> int:
    given = {key: getattr(args, key) for key in ("concurrency", "key_concurrency", "rate_limit", "paused")
             if getattr(args, key) is not None}  # (an option not given is None)
    changes: dict[str, Any] = {key: None if value is _NONE else value for key, value in given.items()}
    if not changes:
        raise CommandError("actors queues set: nothing to change (give --concurrency, --key-concurrency, "
                           "--rate-limit, --pause or --resume)", USAGE)
    info = read(args, lambda sup: sup.set_queue(args.name, **changes))
    if printed_json(args, info):
        return OK
    render.table(_COLUMNS, [_row(info)])
    return OK


_COLUMNS = ["queue", "paused", "concurrency", "key concurrency", "rate limit", "running", "counts"]


class _Marker:
    def __repr__(self) -> str:
        return "none"


#: ``none`` on the command line: remove the limit (``set_queue(..., concurrency=None)``).
_NONE = _Marker()


def _limit(text: str) -> Any:
    """A limit option's value: an int (``set_queue`` checks its range), or ``none``."""
    if text.strip().lower() == "none":
        return _NONE
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number or 'none'") from None


def _rate(text: str) -> Any:
    """``--rate-limit``'s value as ``set_queue`` takes it (``"100/m"``), or ``none``."""
    return _NONE if text.strip().lower() == "none" else text


def _row(queue: QueueInfo) -> list[Any]:
    counts = ", ".join(f"{status} {count}" for status, count in sorted(queue.counts.items()) if count)
    return [queue.name, "yes" if queue.paused else "no", _or_dash(queue.concurrency),
            _or_dash(queue.key_concurrency), _rate_text(queue.rate_limit), queue.running, counts]


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def _rate_text(rate: tuple[int, float] | None) -> str:
    if rate is None:
        return "-"
    count, seconds = rate
    unit = {1.0: "s", 60.0: "m", 3600.0: "h"}.get(float(seconds), f"{seconds:g}s")
    return f"{count}/{unit}"
