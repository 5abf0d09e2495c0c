"""Cron expressions, pure: parse the text once, then ask for the next fire time.

Contract:

- ``Cron.parse(text)`` accepts 5 fields ``minute hour day-of-month month day-of-week`` or 6 fields with a
  leading ``second``; or one macro: ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``,
  ``@hourly``. A field is a comma list of ``*``, ``n``, ``a-b``, ``*/s``, ``a-b/s`` or ``n/s`` (``n`` up to the
  field's maximum, step ``s``). Months take ``jan``..``dec`` and days of week ``sun``..``sat`` (any case); day of
  week 0 and 7 are both Sunday. ``*`` and ``n/s`` in day-of-week stop at 6 (Saturday).
- Vixie-cron day rule: if both day-of-month and day-of-week are restricted (the field text does not begin with
  ``*``), a day fires when *either* matches; otherwise it must match both. (So ``*/2`` counts as unrestricted.)
- All times are UTC; there is no time zone or daylight-saving handling. Times are epoch seconds (floats).
- ``next_after(when)`` returns the first fire time *strictly* after ``when``, on a whole second.
- Bad text raises :class:`~actors.errors.ValidationError` (field ``"cron"``) naming the cron field, the token
  and the allowed range. A schedule that can never fire (``0 0 31 2 *``) is refused the same way, so
  ``next_after`` always finds an answer (within one Gregorian 400-year cycle).
"""

from __future__ import annotations

import bisect
import calendar
import math
import time
from dataclasses import dataclass, field

from .errors import ValidationError

__all__ = ["Cron"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")
# name -> (lowest, highest, highest reached by '*' and 'n/s', names mapped to lo, lo + 1, ...)
_SPECS: dict[str, tuple[int, int, int, tuple[str, ...]]] = {
    "second": (0, 59, 59, ()),
    "minute": (0, 59, 59, ()),
    "hour": (0, 23, 23, ()),
    "day-of-month": (1, 31, 31, ()),
    "month": (1, 12, 12, _MONTHS),
    "day-of-week": (0, 7, 6, _DAYS),
}
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MAX_YEARS = 401  # the Gregorian calendar repeats every 400 years: a schedule that fires at all fires within this


def _days_in_month(year: int, month: int) -> int:
    return 29 if month == 2 and calendar.isleap(year) else _DAYS_IN_MONTH[month - 1]


def _weekday(year: int, month: int, day: int) -> int:
    """Day of week, 0 = Sunday (Sakamoto's method; any year, unlike ``datetime``)."""
    if month < 3:
        year -= 1
    offset = (0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4)[month - 1]
    return (year + year // 4 - year // 100 + year // 400 + offset + day) % 7


def _value(name: str, token: str, item: str) -> int:
    lo, hi, _, names = _SPECS[name]
    where = "" if token == item else f" in {item!r}"
    if token.isdigit() and token.isascii():
        number = int(token)
    elif token.lower() in names:
        number = names.index(token.lower()) + lo
    else:
        hint = f" or a name ({names[0]}..{names[-1]})" if names else ""
        raise ValueError(f"{name} value {token!r}{where} is not a number{hint}")
    if not lo <= number <= hi:
        raise ValueError(f"{name} value {token!r}{where} is out of range {lo}-{hi}")
    return number


def _field(name: str, text: str) -> tuple[int, ...]:
    """The sorted values one field allows; ``ValueError`` with a specific reason if the text is bad."""
    lo, _, star_hi, _ = _SPECS[name]
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ValueError(f"{name} field {text!r} has an empty list item")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not (step_text.isdigit() and step_text.isascii()) or int(step_text) == 0:
                raise ValueError(f"{name} step {step_text!r} in {item!r} must be a positive integer")
            step = int(step_text)
        if base == "*":
            start, end = lo, star_hi
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(name, first, item), _value(name, last, item)
            if start > end:
                raise ValueError(f"{name} range {item!r} runs backwards ({start} > {end})")
        else:
            start = _value(name, base, item)
            end = max(start, star_hi) if slash else start
        values.update(range(start, end + 1, step))
    if name == "day-of-week" and 7 in values:
        values = (values - {7}) | {0}
    return tuple(sorted(values))


def _next_in(values: tuple[int, ...], at_least: int) -> int | None:
    """The smallest allowed value ``>= at_least``, or None."""
    index = bisect.bisect_left(values, at_least)
    return values[index] if index < len(values) else None


@dataclass(frozen=True)
class Cron:
    """A parsed cron schedule (UTC). Equal and hashed by its text; build with :meth:`parse` or ``Cron(text)``.

    Attributes:
        expression: the text as given, stripped of surrounding whitespace.
    """

    expression: str
    _seconds: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _minutes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _hours: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _days: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _months: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _weekdays: frozenset[int] = field(init=False, repr=False, compare=False)
    _either_day: bool = field(init=False, repr=False, compare=False)  # Vixie rule: day-of-month OR day-of-week

    def __post_init__(self) -> None:
        if not isinstance(self.expression, str):
            raise ValidationError("cron", self.expression, "must be a string")
        text = self.expression.strip()
        object.__setattr__(self, "expression", text)
        if text.startswith("@"):
            if text.lower() not in _MACROS:
                raise ValidationError("cron", text, f"unknown macro {text!r}; known: {', '.join(_MACROS)}")
            text = _MACROS[text.lower()]
        parts = text.split()
        if len(parts) == 5:
            parts.insert(0, "0")
        elif len(parts) != 6:
            raise ValidationError(
                "cron",
                self.expression,
                f"expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got {len(parts)}",
            )
        try:
            parsed = [_field(name, part) for name, part in zip(_FIELD_NAMES, parts, strict=True)]
        except ValueError as error:
            raise ValidationError("cron", self.expression, str(error)) from None
        seconds, minutes, hours, days, months, weekdays = parsed
        either_day = not parts[3].startswith("*") and not parts[5].startswith("*")
        # With AND, some allowed day must exist in some allowed month (Feb 29 counts: it comes in leap years).
        # Every valid date falls on every weekday within 400 years, so then the schedule does fire.
        if not either_day and not any(days[0] <= _days_in_month(2000, month) for month in months):
            raise ValidationError(
                "cron",
                self.expression,
                f"never fires: day-of-month {parts[3]!r} does not occur in month {parts[4]!r}",
            )
        for name, value in (("_seconds", seconds), ("_minutes", minutes), ("_hours", hours), ("_days", days)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_months", months)
        object.__setattr__(self, "_weekdays", frozenset(weekdays))
        object.__setattr__(self, "_either_day", either_day)

    @classmethod
    def parse(cls, expression: str) -> Cron:
        """Parse ``expression``; raise :class:`~actors.errors.ValidationError` naming the bad field and token."""
        return cls(expression)

    def _day_matches(self, year: int, month: int, day: int) -> bool:
        in_days = day in self._days
        if self._either_day and in_days:
            return True
        if not self._either_day and not in_days:
            return False
        return _weekday(year, month, day) in self._weekdays

    def next_after(self, when: float) -> float:
        """The first fire time strictly after ``when`` (epoch seconds, UTC), as float epoch seconds."""
        if not math.isfinite(when):
            raise ValueError(f"when must be a finite number of seconds, got {when!r}")
        year, month, day, hour, minute, second = time.gmtime(math.floor(when) + 1)[:6]
        last_year = year + _MAX_YEARS
        while year <= last_year:
            if month not in self._months:
                found = _next_in(self._months, month)
                year, month = (year, found) if found is not None else (year + 1, self._months[0])
                day, hour, minute, second = 1, 0, 0, 0
            last_day = _days_in_month(year, month)
            while day <= last_day and not self._day_matches(year, month, day):
                day, hour, minute, second = day + 1, 0, 0, 0
            if day > last_day:
                year, month, day, hour, minute, second = year + month // 12, month % 12 + 1, 1, 0, 0, 0
                continue
            found = _next_in(self._hours, hour)
            if found is None:
                day, hour, minute, second = day + 1, 0, 0, 0
                continue
            if found != hour:
                hour, minute, second = found, 0, 0
            found = _next_in(self._minutes, minute)
            if found is None:
                hour, minute, second = hour + 1, 0, 0
                continue
            if found != minute:
                minute, second = found, 0
            found = _next_in(self._seconds, second)
            if found is None:
                minute, second = minute + 1, 0
                continue
            return float(calendar.timegm((year, month, day, hour, minute, found, 0, 0, 0)))
        raise AssertionError(f"unreachable: {self.expression!r} never fired")  # pragma: no cover
