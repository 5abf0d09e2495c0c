from __future__ import annotations

import random

import pytest

from actors import Retry, ValidationError
from actors.retry import recurring_backoff


def test_delay_grows_by_factor_and_is_capped() -> None:
    retry = Retry(max_attempts=10, factor=2.0, min_delay=1.0, max_delay=5.0, jitter=False)
    assert [retry.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_stays_within_half_and_full_delay() -> None:
    retry = Retry(max_attempts=10, min_delay=4.0, max_delay=100.0, jitter=True)
    rng = random.Random(7)
    delays = [retry.delay(2, rng) for _ in range(200)]
    assert all(4.0 <= d <= 8.0 for d in delays)
    assert len(set(delays)) > 100


def test_retry_at_is_none_once_attempts_are_exhausted() -> None:
    retry = Retry(max_attempts=3, min_delay=1.0, jitter=False)
    assert retry.retry_at(1, 100.0) == 101.0
    assert retry.retry_at(2, 100.0) == 102.0
    assert retry.retry_at(3, 100.0) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"max_attempts": 0}, "retry.max_attempts"), ({"factor": 0.5}, "retry.factor"),
     ({"min_delay": -1}, "retry.min_delay"), ({"min_delay": 5, "max_delay": 1}, "retry.max_delay"),
     ({"max_attempts": True}, "retry.max_attempts")],
)
def test_bad_retry_settings_are_named(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Retry(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_recurring_backoff_doubles_per_failure_up_to_300s() -> None:
    assert [recurring_backoff(1.0, f) for f in range(0, 5)] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert recurring_backoff(60.0, 4) == 300.0


def test_delay_of_a_huge_factor_or_attempt_is_capped_not_an_overflow() -> None:
    # used to raise OverflowError (float factor) or compute a huge exact int for minutes (int factor)
    assert Retry(factor=1e300, max_delay=3600, jitter=False).delay(5) == 3600
    assert Retry(factor=2, max_delay=60, jitter=False).delay(10**9) == 60


@pytest.mark.parametrize("field", ["min_delay", "max_delay"])
def test_a_delay_past_100_years_is_refused(field: str) -> None:
    with pytest.raises(ValidationError) as info:  # a retry due time past year 9999 poisoned the row
        Retry(**{field: 1e300})
    assert info.value.field == f"retry.{field}"


@pytest.mark.parametrize("jitter", [(None, None), None, 1, "yes"])
def test_jitter_must_be_a_bool(jitter: object) -> None:
    # found by the slow fuzz run: Retry(jitter=(None, None)) was stored and came back as a list
    with pytest.raises(ValidationError, match=r"retry\.jitter"):
        Retry(jitter=jitter)  # type: ignore[arg-type]
