"""The records of ``actors`` as JSON values, the form every route of the HTTP API answers in.

Pure (standard library and the kernel): a ``Task``, ``QueueInfo``, ``Schedule``, log record or
``Event`` becomes a dict of JSON values (datetimes as ISO 8601 text, enums as their value,
tuples as lists); a float that JSON cannot carry (NaN, ±inf) becomes None, and any other value
JSON cannot carry becomes its text, so an answer is always valid JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = ["event_json", "json_value", "record_json"]


def json_value(value: Any) -> Any:
    """``value`` as JSON values (recursively); what JSON cannot carry becomes text (or None for
    NaN and ±inf)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return record_json(value)
    return str(value)


def record_json(record: Any) -> dict[str, Any]:
    """A dataclass record (``Task``, ``QueueInfo``, ``Schedule``, ``LogRecord``, ``Node``) as a
    dict of JSON values, one key per field (fields other branches add come along)."""
    return {f.name: json_value(getattr(record, f.name)) for f in dataclasses.fields(record)}


def event_json(event: Any) -> dict[str, Any]:
    """An ``actors.Event`` (``kind``, ``task_id``, ``name``, ``queue``, ``at``, ``data``) as JSON values."""
    return {name: json_value(getattr(event, name, None)) for name in ("kind", "task_id", "name", "queue", "at", "data")}
