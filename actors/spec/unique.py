"""The uniqueness fields of ``create_task``: ``idempotency_key`` and its ``idempotency_ttl``.

Pure: the creation time is an argument.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import from_timestamp
from ..errors import ValidationError
from .values import check_text, seconds

__all__ = ["check_idempotency"]


def check_idempotency(key: object, ttl: float | timedelta | None, now: float) -> tuple[str | None, datetime | None]:
    """``(key, expires_at)``: the key as stored, and when it is free again (None: never).

    Within ``ttl`` seconds of the first create with ``key`` a create with the same key
    returns the first task's id and stores nothing; from ``now + ttl`` on the key is free.

    Raises:
        ValidationError: a key that is not a non-empty string, a ``ttl`` that is not a
            number of seconds > 0, or a ``ttl`` without a key (each named).
    """
    if key is not None and (not isinstance(key, str) or not key):
        raise ValidationError("idempotency_key", key, "must be a non-empty string or None")
    text = None if key is None else check_text("idempotency_key", key)
    if ttl is None:
        return text, None
    checked = seconds("idempotency_ttl", ttl, allow_zero=False)
    assert checked is not None
    if text is None:
        raise ValidationError("idempotency_ttl", ttl, "needs an idempotency_key")
    return text, from_timestamp(now + checked)  # (``seconds`` caps ttl at 100 years: representable)
