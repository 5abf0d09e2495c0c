"""Retry decisions, pure: given an attempt number and the time, when to try again.

Nothing here sleeps. The supervisor turns a decision into ``run_at`` on the task
row, so a retry waits in the store, not in a thread.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any

from .errors import ValidationError

__all__ = ["RECURRING_BACKOFF_CAP", "Retry", "recurring_backoff"]

#: A recurring task's failure back-off never exceeds this many seconds (ElizaOS: 300 000 ms).
RECURRING_BACKOFF_CAP = 300.0
#: The longest delay a ``Retry`` may give (100 years, as ``spec.MAX_SECONDS``): a retry's due
#: time stays a representable datetime.
MAX_DELAY = 100 * 365.25 * 86400.0


@dataclass(frozen=True)
class Retry:
    """How often and how soon a one-time task is tried again after a failure.

    The delay before attempt ``n + 1`` is ``min(max_delay, min_delay * factor ** (n - 1))``;
    with ``jitter`` it is drawn uniformly from ``[delay / 2, delay]``.

    Args:
        max_attempts: attempts in all, the first included (1 = never retry).
        factor: growth of the delay per attempt (>= 1).
        min_delay: seconds before the first retry (>= 0).
        max_delay: cap on the delay (>= min_delay).
        jitter: spread delays so retries of many tasks do not arrive together.

    Raises:
        ValidationError: a field is out of range (the message names it).
    """

    max_attempts: int = 3
    factor: float = 2.0
    min_delay: float = 1.0
    max_delay: float = 60.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ValidationError("retry.max_attempts", self.max_attempts, "must be an int")
        if self.max_attempts < 1:
            raise ValidationError("retry.max_attempts", self.max_attempts, "must be >= 1")
        for name in ("factor", "min_delay", "max_delay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValidationError(f"retry.{name}", value, "must be a number")
            if not math.isfinite(value) or value < 0:
                raise ValidationError(f"retry.{name}", value, "must be finite and >= 0")
            if name != "factor" and value > MAX_DELAY:
                raise ValidationError(f"retry.{name}", value, f"must be at most {MAX_DELAY:.0f} seconds (100 years)")
        if self.factor < 1:
            raise ValidationError("retry.factor", self.factor, "must be >= 1")
        if self.max_delay < self.min_delay:
            raise ValidationError("retry.max_delay", self.max_delay, "must be >= min_delay")
        if not isinstance(self.jitter, bool):
            raise ValidationError("retry.jitter", self.jitter, "must be True or False")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        try:
            # float powers: an int factor would build a huge exact int for a large attempt
            base = min(float(self.max_delay), float(self.min_delay) * float(self.factor) ** max(0, attempt - 1))
        except OverflowError:  # a large factor or attempt: the growth passed any cap
            base = self.max_delay
        if self.jitter and base > 0:
            return (rng or random).uniform(base / 2, base)
        return base

    def retry_at(self, attempt: int, now: float, rng: random.Random | None = None) -> float | None:
        """When to run again after failed attempt ``attempt``, or None when exhausted."""
        if attempt >= self.max_attempts:
            return None
        return now + self.delay(attempt, rng)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Retry:
        return cls(**data)


def recurring_backoff(base: float, failures: int) -> float:
    """Delay before the next run of a recurring task after ``failures`` failures in a row.

    ``base * 2 ** failures``, capped at :data:`RECURRING_BACKOFF_CAP`; with a 1 s base a
    task that always fails runs at +2, +4, +8, ... seconds.
    """
    if failures <= 0:
        return base
    return min(RECURRING_BACKOFF_CAP, base * 2.0 ** min(failures, 64))
