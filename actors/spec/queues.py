"""The checks of queue settings (``set_queue``): the one home of their rules. Pure.

A queue name is a non-empty storable string. ``concurrency`` and ``key_concurrency`` are
ints >= 1; ``rate_limit`` is ``"N/s"``, ``"N/m"``, ``"N/h"`` or ``(N, seconds)`` (N >= 1,
seconds > 0), kept as ``(N, seconds)``; ``paused`` is a bool. None removes a limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError
from .values import MAX_INT, MAX_SECONDS, check_text

__all__ = ["QUEUE_FIELDS", "check_queue_changes", "check_queue_name", "check_queues", "parse_rate"]

#: The settings ``set_queue`` takes.
QUEUE_FIELDS = ("concurrency", "key_concurrency", "rate_limit", "paused")
_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([smh])\s*$")


def check_queue_name(name: object) -> str:
    """``name`` if it is a non-empty storable string, else ``ValidationError`` (field ``queue``)."""
    if not isinstance(name, str) or not name:
        raise ValidationError("queue", name, "must be a non-empty string")
    return check_text("queue", name)


def check_queues(queues: object) -> tuple[str, ...] | None:
    """A node's queue filter (``Supervisor.start(queues=)``): None (all) or distinct names."""
    if queues is None:
        return None
    if isinstance(queues, str) or not hasattr(queues, "__iter__"):
        raise ValidationError("queues", queues, "must be a list of queue names or None")
    names = tuple(dict.fromkeys(check_queue_name(name) for name in queues))
    if not names:
        raise ValidationError("queues", queues, "must name at least one queue (None: all)")
    return names


def parse_rate(value: object) -> tuple[int, float] | None:
    """A rate limit as ``(count, seconds)``; ``ValidationError`` (field ``rate_limit``)."""
    if value is None:
        return None
    if isinstance(value, str):
        match = _RATE.match(value)
        if match is None:
            raise ValidationError("rate_limit", value, 'must be "N/s", "N/m", "N/h" or (N, seconds)')
        count, period = int(match.group(1)), _PERIODS[match.group(2)]
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        count, period = value[0], value[1]
        if isinstance(period, bool) or not isinstance(period, (int, float)):
            raise ValidationError("rate_limit", value, "seconds must be a number")
        period = float(period)
    else:
        raise ValidationError("rate_limit", value, 'must be "N/s", "N/m", "N/h" or (N, seconds)')
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_INT:
        raise ValidationError("rate_limit", value, "N must be an int >= 1")
    if not math.isfinite(period) or not 0 < period <= MAX_SECONDS:
        raise ValidationError("rate_limit", value, "seconds must be > 0")
    return count, period


def _limit(field_name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT:
        raise ValidationError(field_name, value, "must be an int >= 1 or None")
    return value


def check_queue_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes in stored form (``rate_limit`` as ``(count, seconds)``); ``ValidationError``
    naming the first unknown or bad field."""
    out: dict[str, Any] = {}
    for field_name, value in changes.items():
        if field_name in ("concurrency", "key_concurrency"):
            out[field_name] = _limit(field_name, value)
        elif field_name == "rate_limit":
            out[field_name] = parse_rate(value)
        elif field_name == "paused":
            if not isinstance(value, bool):
                raise ValidationError("paused", value, "must be True or False")
            out[field_name] = value
        else:
            raise ValidationError(field_name, value, f"is not a queue setting (one of {', '.join(QUEUE_FIELDS)})")
    return out
