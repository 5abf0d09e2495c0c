"""Cron: every syntax form, the Vixie day rule, rollovers, refusals, and a brute-force reference."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.cron import Cron
from actors.errors import ValidationError


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


def ts(*parts: int) -> float:
    """Epoch seconds of a UTC wall time."""
    return utc(*parts).timestamp()


def at(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, timezone.utc)


def nxt(expression: str, *parts: int) -> datetime:
    return at(Cron.parse(expression).next_after(ts(*parts)))


def fires(expression: str, start: float, count: int) -> list[datetime]:
    cron, out, when = Cron.parse(expression), [], start
    for _ in range(count):
        when = cron.next_after(when)
        out.append(at(when))
    return out


# --- the API -----------------------------------------------------------------------------------------------------


def test_expression_is_kept_stripped_and_cron_is_hashable() -> None:
    cron = Cron.parse("  */5 * * * *\n")
    assert cron.expression == "*/5 * * * *"
    assert cron == Cron("*/5 * * * *")
    assert len({cron, Cron.parse("*/5 * * * *"), Cron.parse("@daily")}) == 2
    assert isinstance(cron.next_after(0.0), float)


def test_next_after_is_strictly_after() -> None:
    assert nxt("0 * * * *", 2024, 5, 1, 10, 0, 0) == utc(2024, 5, 1, 11)
    assert nxt("0 * * * *", 2024, 5, 1, 9, 59, 59) == utc(2024, 5, 1, 10)
    assert nxt("* * * * * *", 2024, 5, 1, 10, 0, 0) == utc(2024, 5, 1, 10, 0, 1)


def test_sub_second_input_rounds_up_to_the_next_whole_second() -> None:
    every_second = Cron.parse("* * * * * *")
    assert every_second.next_after(12.5) == 13.0
    assert every_second.next_after(13.0) == 14.0
    assert every_second.next_after(-0.5) == 0.0
    assert Cron.parse("* * * * *").next_after(59.999) == 60.0


def test_non_finite_time_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        Cron.parse("* * * * *").next_after(float("nan"))


# --- syntax ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "minutes"),
    [
        ("* 0 * * *", list(range(60))),
        ("7 0 * * *", [7]),
        ("10-13 0 * * *", [10, 11, 12, 13]),
        ("*/15 0 * * *", [0, 15, 30, 45]),
        ("10-30/10 0 * * *", [10, 20, 30]),
        ("50/4 0 * * *", [50, 54, 58]),
        ("1,5-6,*/20,58/30 0 * * *", [0, 1, 5, 6, 20, 40, 58]),
        ("59/100 0 * * *", [59]),
    ],
)
def test_minute_field_forms(expression: str, minutes: list[int]) -> None:
    got = fires(expression, ts(2024, 1, 1) - 1, len(minutes) + 1)
    assert [d.minute for d in got[:-1]] == minutes
    assert got[-1] == utc(2024, 1, 2, 0, minutes[0])  # then the next day


def test_each_field_lands_in_its_place() -> None:
    assert nxt("30 4 15 6 *", 2024, 1, 1) == utc(2024, 6, 15, 4, 30)
    assert nxt("0 12 * * *", 2024, 1, 1, 12) == utc(2024, 1, 2, 12)
    assert nxt("0 0 1 */3 *", 2024, 2, 1) == utc(2024, 4, 1)  # months 1, 4, 7, 10


def test_month_and_day_names_any_case() -> None:
    assert Cron.parse("0 0 1 JAN-Mar *").next_after(ts(2024, 2, 5)) == ts(2024, 3, 1)
    assert Cron.parse("0 0 1 jun,Dec *").next_after(ts(2024, 7, 1)) == ts(2024, 12, 1)
    # 2024-01-01 is a Monday
    assert nxt("0 9 * * mon-fri", 2024, 1, 5, 10) == utc(2024, 1, 8, 9)  # Friday after 9 -> Monday
    assert nxt("0 9 * * SAT,sun", 2024, 1, 1) == utc(2024, 1, 6, 9)
    assert nxt("0 0 * * Wed", 2024, 1, 1) == utc(2024, 1, 3)


def test_sunday_is_both_0_and_7() -> None:
    monday = ts(2024, 1, 1)
    sunday = utc(2024, 1, 7)
    assert at(Cron.parse("0 0 * * 0").next_after(monday)) == sunday
    assert at(Cron.parse("0 0 * * 7").next_after(monday)) == sunday
    assert at(Cron.parse("0 0 * * sun").next_after(monday)) == sunday
    assert fires("0 0 * * 5-7", monday, 4) == [utc(2024, 1, 5), utc(2024, 1, 6), utc(2024, 1, 7), utc(2024, 1, 12)]
    # '*' and 'n/s' in day-of-week end at Saturday, so 7 is not added twice nor Sunday smuggled in.
    assert [d.weekday() for d in fires("0 0 * * 1/2", ts(2023, 12, 31), 4)] == [0, 2, 4, 0]  # Mon, Wed, Fri


def test_dom_and_dow_both_restricted_means_either() -> None:
    # 13th of the month OR any Friday; 2024-09-13 is a Friday, 2024-10-13 a Sunday.
    got = fires("0 0 13 * 5", ts(2024, 9, 30), 4)
    assert got == [utc(2024, 10, 4), utc(2024, 10, 11), utc(2024, 10, 13), utc(2024, 10, 18)]


def test_a_star_day_field_means_both_must_match() -> None:
    # dow is '*': only the 13th.
    assert fires("0 0 13 * *", ts(2024, 9, 30), 2) == [utc(2024, 10, 13), utc(2024, 11, 13)]
    # dom is '*': only Fridays.
    assert fires("0 0 * * 5", ts(2024, 9, 30), 2) == [utc(2024, 10, 4), utc(2024, 10, 11)]
    # A field beginning with '*' counts as unrestricted (Vixie): odd days AND Fridays.
    assert fires("0 0 */2 * 5", ts(2024, 9, 30), 3) == [utc(2024, 10, 11), utc(2024, 10, 25), utc(2024, 11, 1)]
    # ... so '*/7' (= Sunday only, as '*' stops at 6) with the 13th means Sunday the 13th.
    assert fires("0 0 13 * */7", ts(2024, 1, 1), 3) == [utc(2024, 10, 13), utc(2025, 4, 13), utc(2025, 7, 13)]


def test_macros() -> None:
    start = ts(2024, 5, 15, 10, 30)
    assert nxt("@yearly", 2024, 5, 15) == nxt("@annually", 2024, 5, 15) == utc(2025, 1, 1)
    assert at(Cron.parse("@monthly").next_after(start)) == utc(2024, 6, 1)
    assert at(Cron.parse("@weekly").next_after(start)) == utc(2024, 5, 19)  # Sunday
    assert at(Cron.parse("@daily").next_after(start)) == utc(2024, 5, 16)
    assert at(Cron.parse("@MIDNIGHT").next_after(start)) == utc(2024, 5, 16)
    assert at(Cron.parse("@hourly").next_after(start)) == utc(2024, 5, 15, 11)
    assert Cron.parse(" @daily ").expression == "@daily"


def test_six_fields_lead_with_seconds() -> None:
    start = ts(2024, 1, 1, 0, 0, 0)
    assert fires("*/2 * * * * *", start, 3) == [utc(2024, 1, 1, 0, 0, s) for s in (2, 4, 6)]
    assert fires("15,45 * * * * *", start, 3) == [
        utc(2024, 1, 1, 0, 0, 15),
        utc(2024, 1, 1, 0, 0, 45),
        utc(2024, 1, 1, 0, 1, 15),
    ]
    assert nxt("30 5 * * * *", 2024, 1, 1, 0, 5, 30) == utc(2024, 1, 1, 1, 5, 30)
    assert nxt("58/5 59 23 31 12 *", 2023, 12, 31, 23, 59, 58) == utc(2024, 12, 31, 23, 59, 58)
    # Five fields fire on second 0.
    assert nxt("* * * * *", 2024, 1, 1, 0, 0, 1) == utc(2024, 1, 1, 0, 1)


# --- rollovers and the calendar ----------------------------------------------------------------------------------


def test_minute_hour_day_month_and_year_rollover() -> None:
    assert nxt("* * * * *", 2024, 12, 31, 23, 59, 30) == utc(2025, 1, 1)
    assert nxt("0 0 * * *", 2024, 1, 31, 12) == utc(2024, 2, 1)
    assert nxt("0 0 31 * *", 2024, 4, 1) == utc(2024, 5, 31)  # April has no 31st
    assert nxt("0 0 1 1 *", 2024, 1, 1) == utc(2025, 1, 1)
    assert nxt("5 4 * 2 *", 2024, 2, 29, 4, 5) == utc(2025, 2, 1, 4, 5)


def test_leap_day() -> None:
    assert nxt("0 0 29 2 *", 2021, 3, 1) == utc(2024, 2, 29)
    assert nxt("0 0 29 2 *", 2024, 2, 29) == utc(2028, 2, 29)
    assert nxt("0 0 29 2 *", 2096, 3, 1) == utc(2104, 2, 29)  # 2100 is not a leap year
    assert nxt("0 0 * 2 *", 2023, 2, 28) == utc(2024, 2, 1)
    assert nxt("0 0 * 2 *", 2024, 2, 28) == utc(2024, 2, 29)


def test_rare_but_possible_schedule_is_found() -> None:
    # Feb 29 that is also a Sunday (dow starts with '*', so AND): 40 years apart across 2100.
    assert nxt("0 0 29 2 */7", 2088, 3, 1) == utc(2128, 2, 29)
    assert utc(2128, 2, 29).isoweekday() == 7


# --- refusals ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("", "expected 5 fields"),
        ("   ", "expected 5 fields"),
        ("* * * *", "got 4"),
        ("* * * * * * *", "got 7"),
        ("@reboot", "unknown macro '@reboot'"),
        ("@every 5s", "unknown macro"),
        ("60 * * * *", "minute value '60' is out of range 0-59"),
        ("* 24 * * *", "hour value '24' is out of range 0-23"),
        ("* * 0 * *", "day-of-month value '0' is out of range 1-31"),
        ("* * 32 * *", "day-of-month value '32' is out of range 1-31"),
        ("* * * 13 *", "month value '13' is out of range 1-12"),
        ("* * * * 8", "day-of-week value '8' is out of range 0-7"),
        ("60 * * * * *", "second value '60' is out of range 0-59"),
        ("* * * * * 8", "day-of-week value '8' is out of range 0-7"),
        ("* * * foo *", "month value 'foo' is not a number or a name (jan..dec)"),
        ("* * * * funday", "day-of-week value 'funday' is not a number or a name (sun..sat)"),
        ("* * * * * jan", "day-of-week value 'jan'"),
        ("* * jan * *", "day-of-month value 'jan' is not a number"),
        ("1-x * * * *", "minute value 'x' in '1-x' is not a number"),
        ("-5 * * * *", "minute value '' in '-5' is not a number"),
        ("-1 * * * *", "minute value ''"),
        ("5-3 * * * *", "minute range '5-3' runs backwards (5 > 3)"),
        ("* fri-mon * * *", "hour value 'fri'"),
        ("* * * * fri-mon", "day-of-week range 'fri-mon' runs backwards (5 > 1)"),
        ("*/0 * * * *", "minute step '0' in '*/0' must be a positive integer"),
        ("* */x * * *", "hour step 'x' in '*/x' must be a positive integer"),
        ("* * 1/ * *", "day-of-month step '' in '1/'"),
        ("* * * 1/2/3 *", "month step '2/3'"),
        ("1,,2 * * * *", "minute field '1,,2' has an empty list item"),
        ("1, * * * *", "minute field '1,' has an empty list item"),
        ("? * * * *", "minute value '?' is not a number"),
        ("* * L * *", "day-of-month value 'L'"),
        ("* * * * 5#3", "day-of-week value '5#3'"),
        ("0 0 31 2 *", "never fires: day-of-month '31' does not occur in month '2'"),
        ("0 0 30 feb *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("0 0 30-31 2 */2", "never fires"),  # dow begins with '*': AND, and Feb has no 30th
    ],
)
def test_bad_input_names_the_field_and_token(expression: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Cron.parse(expression)
    assert caught.value.field == "cron"
    assert caught.value.value == expression.strip()
    assert reason in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_non_string_is_refused() -> None:
    with pytest.raises(ValidationError, match="must be a string"):
        Cron.parse(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "expression",
    ["0 0 31 2 1", "0 0 29 2 *", "0 0 31 1-2 *", "0 0 */31 2 *", "0 0 30 2 mon", "0 0 31 * *"],
)
def test_possible_day_combinations_are_accepted(expression: str) -> None:
    cron = Cron.parse(expression)
    assert cron.next_after(ts(2024, 1, 1)) > ts(2024, 1, 1)


# --- against a brute-force reference -----------------------------------------------------------------------------

# Each field is generated as items (start, end, step, form), rendered as text, and expanded here with range():
# the reference never sees the module's parser.
FIELDS = {"minute": (0, 59), "hour": (0, 23), "dom": (1, 31), "month": (1, 12), "dow": (0, 7)}


@st.composite
def field_text(draw: st.DrawFn, name: str) -> tuple[str, set[int]]:
    lo, hi = FIELDS[name]
    star_hi = 6 if name == "dow" else hi
    weights = {"minute": 0.3, "hour": 0.5, "dom": 0.6, "month": 0.8, "dow": 0.6}
    if draw(st.floats(0, 1)) < weights[name]:
        step = draw(st.sampled_from([1, 1, 1, 2, 3, 7]))
        return ("*" if step == 1 else f"*/{step}"), set(range(lo, star_hi + 1, step))
    items, values = [], set()
    for _ in range(draw(st.integers(1, 3))):
        a = draw(st.integers(lo, hi))
        form = draw(st.sampled_from(["n", "a-b", "a-b/s", "n/s"]))
        if form == "n":
            items.append(str(a))
            values.add(a)
            continue
        step = draw(st.integers(1, 12))
        if form == "n/s":
            items.append(f"{a}/{step}")
            values.update(range(a, max(a, star_hi) + 1, step))
            continue
        b = draw(st.integers(a, hi))
        items.append(f"{a}-{b}" + (f"/{step}" if form == "a-b/s" else ""))
        values.update(range(a, b + 1, step if form == "a-b/s" else 1))
    return ",".join(items), values


def reference(texts: dict[str, str], sets: dict[str, set[int]], start: datetime, minutes: int) -> list[datetime]:
    """Every matching minute in (start, start + minutes], one minute at a time."""
    dows = {d % 7 for d in sets["dow"]}
    either = not texts["dom"].startswith("*") and not texts["dow"].startswith("*")
    out, when = [], start.replace(second=0, microsecond=0)
    for _ in range(minutes):
        when += timedelta(minutes=1)
        dom_ok, dow_ok = when.day in sets["dom"], when.isoweekday() % 7 in dows
        day_ok = (dom_ok or dow_ok) if either else (dom_ok and dow_ok)
        if when.minute in sets["minute"] and when.hour in sets["hour"] and when.month in sets["month"] and day_ok:
            out.append(when)
    return out


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    start=st.integers(int(ts(1971, 1, 1)), int(ts(2099, 1, 1))),
    fraction=st.sampled_from([0.0, 0.25, 0.999]),
)
def test_matches_brute_force_over_a_few_days(data: st.DataObject, start: int, fraction: float) -> None:
    drawn = {name: data.draw(field_text(name), label=name) for name in FIELDS}
    texts = {name: text for name, (text, _) in drawn.items()}
    sets = {name: values for name, (_, values) in drawn.items()}
    expression = " ".join(texts[name] for name in FIELDS)
    try:
        cron = Cron.parse(expression)
    except ValidationError as error:  # only an impossible day/month pairing may be refused
        assert "never fires" in str(error)
        assert texts["dom"].startswith("*") or texts["dow"].startswith("*")
        assert not any(
            d <= (29 if m == 2 else 30 if m in (4, 6, 9, 11) else 31) for d in sets["dom"] for m in sets["month"]
        )
        return
    window = 3 * 24 * 60
    begin = start + fraction
    expected = reference(texts, sets, at(start), window)
    got, when, end = [], begin, start + window * 60
    while (when := cron.next_after(when)) <= end:
        got.append(at(when))
    assert got == expected, expression


@settings(max_examples=40, deadline=None)
@given(
    seconds=st.sets(st.integers(0, 59), min_size=1, max_size=6),
    minutes=st.sets(st.integers(0, 59), min_size=1, max_size=30),
    start=st.integers(int(ts(2000, 1, 1)), int(ts(2040, 1, 1))),
)
def test_six_field_matches_brute_force_over_an_hour(seconds: set[int], minutes: set[int], start: int) -> None:
    cron = Cron.parse(f"{','.join(map(str, seconds))} {','.join(map(str, minutes))} * * * *")
    expected = [s for s in range(start + 1, start + 3601) if at(s).second in seconds and at(s).minute in minutes]
    got, when = [], float(start)
    while (when := cron.next_after(when)) <= start + 3600:
        got.append(int(when))
    assert got == expected
