"""The records of ``actors`` as JSON values, the form every route of the HTTP API answers in.

Pure (standard library and the kernel): a ``Task``, ``QueueInfo``, ``Schedule``, log record or
``Event`` becomes a dict of JSON values (datetimes as ISO 8601 text, enums as their value,
tuples as lists); a float that JSON cannot carry (NaN, ±inf) becomes None, and any other value
JSON cannot carry becomes its text, so an answer is always valid JSON. The conversion itself is
``actors.jsonvalues`` (shared with the command line's ``--json``); ``event_json`` is the API's own.
"""

from __future__ import annotations

from typing import Any

from ..jsonvalues import json_value, record_json

__all__ = ["event_json", "json_value", "record_json"]


def event_json(event: Any) -> dict[str, Any]:
    """An ``actors.Event`` (``kind``, ``task_id``, ``name``, ``queue``, ``at``, ``data``) as JSON values."""
    return {name: json_value(getattr(event, name, None)) for name in ("kind", "task_id", "name", "queue", "at", "data")}
