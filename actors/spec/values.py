"""The check of each field a caller may give (``create_task``, ``update_task``, ``TaskWorker``): each
returns the value as stored or raises ``ValidationError`` naming the field and the value. Pure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..clock import from_timestamp, to_timestamp
from ..errors import ValidationError
from ..models import PRIORITIES
from ..retry import Retry

__all__ = [
    "MAX_INT",
    "MAX_NAME_LENGTH",
    "MAX_SECONDS",
    "MAX_TRACE_ENTRIES",
    "MAX_TRACE_VALUE",
    "check_json",
    "check_max_iterations",
    "check_name",
    "check_priority",
    "check_priority_name",
    "check_retry",
    "check_run_at",
    "check_task_id",
    "check_text",
    "check_trace",
    "instant",
    "json_text",
    "optional_str",
    "seconds",
]


MAX_NAME_LENGTH = 200


#: The largest count a task row holds (``max_attempts``, ``max_failures``; PostgreSQL ``INTEGER``).
MAX_INT = 2**31 - 1


#: The longest duration accepted anywhere (100 years): every due time, lease and back-off computed
#: from one stays a representable datetime.
MAX_SECONDS = 100 * 365.25 * 86400.0


def seconds(field_name: str, value: object, *, allow_zero: bool, limit: float = MAX_SECONDS) -> float | None:
    """Float seconds from a number or timedelta; None stays None.

    Raises:
        ValidationError: not a number or timedelta, not finite, negative (or zero when not
            ``allow_zero``), or above ``limit`` (default ``MAX_SECONDS``: 100 years).
    """
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(field_name, value, "must be a number of seconds or a timedelta")
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(field_name, value, "must be finite")
    if number < 0 or (number == 0 and not allow_zero):
        raise ValidationError(field_name, value, "must be > 0" if not allow_zero else "must be >= 0")
    if number > limit:
        raise ValidationError(field_name, value, f"must be at most {limit:.0f} (100 years)")
    return number


def check_text(field_name: str, value: object) -> str:
    """``value`` if it is a string every store can keep as is, else ``ValidationError``.

    Refused: a non-string, a NUL character (PostgreSQL text cannot hold one) and a lone
    surrogate (not encodable as UTF-8, so neither SQLite nor PostgreSQL can store it).
    """
    if value.__class__ is str and value.isascii() and "\x00" not in value:
        return value  # (ASCII has no surrogate: it encodes)
    if not isinstance(value, str):
        raise ValidationError(field_name, value, "must be a string")
    if "\x00" in value:
        raise ValidationError(field_name, value, "must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(field_name, value, "must be valid Unicode (a lone surrogate is not)") from None
    return value


def check_task_id(value: object) -> str:
    """A task id as the public calls take it: a string (an unknown one is the store's answer)."""
    return check_text("task_id", value)


_ENCODE = json.JSONEncoder(allow_nan=False).encode
_PLAIN = (str, bool)
#: Ints within this bound always have a decimal text (``sys.set_int_max_str_digits`` is >= 640).
_HUGE = 10**600


def check_json(field_name: str, mapping: object) -> dict[str, Any]:
    """A plain dict that round-trips through JSON, or ValidationError naming the key."""
    if mapping.__class__ is not dict and not isinstance(mapping, Mapping):  # (an ABC check costs more)
        raise ValidationError(field_name, mapping, "must be a dict")
    out = dict(mapping)
    plain = True  # every value a JSON scalar: it encodes, and holds nothing nested
    for key, value in out.items():
        if not isinstance(key, str):
            raise ValidationError(field_name, key, "keys must be strings")
        if plain and not (value is None or value.__class__ in _PLAIN
                          or (value.__class__ is int and -_HUGE < value < _HUGE)
                          or (value.__class__ is float and math.isfinite(value))):
            plain = False
    if plain:
        return out
    try:
        _ENCODE(out)  # one pass over the whole dict; only a failure looks for the culprit
    except (TypeError, ValueError, RecursionError) as whole:
        for key, value in out.items():
            try:
                _ENCODE(value)
            except (TypeError, ValueError, RecursionError) as exc:
                raise ValidationError(f"{field_name}[{key!r}]", value, f"not JSON: {exc}") from None
        raise ValidationError(field_name, mapping, f"not JSON: {whole}") from None
    _nested_keys(field_name, out)
    return out


_COMPACT = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode  # the stores' JSON text


def json_text(field_name: str, value: Any) -> str:
    """Compact JSON text of ``value`` as the stores keep it; ``ValidationError`` if not JSON."""
    if value is None:
        return "null"
    if not value and isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    try:
        return _COMPACT(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(field_name, value, f"not JSON: {exc}") from None


def _nested_keys(field_name: str, top: dict[str, Any]) -> None:
    """Refuse a non-string key at any depth: JSON would turn ``{1: x}`` into ``{"1": x}`` and
    the value would not come back as given (the top level is checked by the caller)."""
    stack: list[tuple[str, Any]] = [(f"{field_name}[{key!r}]", value) for key, value in top.items()
                                    if isinstance(value, (dict, list, tuple))]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ValidationError(where, key, "keys must be strings")
                if isinstance(item, (dict, list, tuple)):
                    stack.append((f"{where}[{key!r}]", item))
        else:
            stack.extend((f"{where}[{at}]", item) for at, item in enumerate(value)
                         if isinstance(item, (dict, list, tuple)))


def optional_str(field_name: str, value: object) -> str | None:
    """A non-empty storable string (a UUID is taken as its text), or None."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise ValidationError(field_name, value, "must not be empty")
        return check_text(field_name, value)
    if type(value).__name__ == "UUID":
        return str(value)
    raise ValidationError(field_name, value, "must be a string or None")


def _tags(value: object) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError("tags", value, "must be a list of strings")
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not tag:
            raise ValidationError("tags", tag, "each tag must be a non-empty string")
        check_text("tags", tag)
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def check_retry(value: object) -> dict[str, Any] | None:
    """A task's retry policy in its stored form (a dict), or None."""
    if value is None:
        return None
    if isinstance(value, Retry):
        return value.to_dict()
    if isinstance(value, Mapping):
        try:
            return Retry(**value).to_dict()
        except TypeError as exc:
            raise ValidationError("retry", value, str(exc)) from None
    raise ValidationError("retry", value, "must be an actors.Retry or None")


def _int(field_name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field_name, value, "must be an int")
    if value > MAX_INT:
        raise ValidationError(field_name, value, f"must be at most {MAX_INT}")
    return value


def check_max_iterations(field_name: str, value: object) -> int | None:
    """``max_iterations`` (``TaskWorker`` / ``create_task``): None or an int from 1 to ``MAX_INT``."""
    number = _int(field_name, value)
    if number is not None and number < 1:
        raise ValidationError(field_name, value, "must be >= 1")
    return number


#: At most this many entries in a task's ``trace`` carrier, each value at most ``MAX_TRACE_VALUE`` characters.
MAX_TRACE_ENTRIES = 8


MAX_TRACE_VALUE = 2048


def check_trace(value: object) -> dict[str, str] | None:
    """A task's ``trace``: None, or a W3C trace-context carrier (``{"traceparent": ...,
    "tracestate": ...}``) as a dict of up to ``MAX_TRACE_ENTRIES`` non-empty string keys to
    strings of at most ``MAX_TRACE_VALUE`` characters; an empty carrier is None."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) > MAX_TRACE_ENTRIES:
        raise ValidationError("trace", value, f"must be a dict of at most {MAX_TRACE_ENTRIES} strings")
    for key, text in value.items():
        if not isinstance(key, str) or not key or not isinstance(text, str) or len(text) > MAX_TRACE_VALUE:
            raise ValidationError("trace", value, f"must map non-empty strings to strings of at most "
                                                  f"{MAX_TRACE_VALUE} characters")
    return dict(value) or None


def check_priority_name(value: object) -> str:
    """``value`` if it is a priority name ('high', 'normal', 'low'); ``ValidationError`` otherwise."""
    if value not in PRIORITIES:
        raise ValidationError("priority", value, "must be 'high', 'normal' or 'low'")
    return str(value)


def check_priority(value: object) -> str:
    if value is None:
        return "normal"
    return check_priority_name(value)


def check_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("name", value, "must be a non-empty string")
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError("name", value, f"must be at most {MAX_NAME_LENGTH} characters")
    return check_text("name", value)


def instant(field_name: str, value: object, stamp: float) -> float:
    """``stamp`` if it reads back as a datetime (years 1 to 9999, UTC), else ``ValidationError``."""
    try:
        from_timestamp(stamp)
    except (OverflowError, ValueError, OSError):
        raise ValidationError(field_name, value, "is out of range (years 1 to 9999, UTC)") from None
    return stamp


def check_run_at(value: object) -> float | None:
    """Epoch seconds of a datetime (naive is UTC) that a store can keep and give back."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError("run_at", value, "must be a datetime")
    try:
        stamp = to_timestamp(value)
    except (OverflowError, ValueError, OSError):
        raise ValidationError("run_at", value, "is out of range (years 1 to 9999, UTC)") from None
    return instant("run_at", value, stamp)
