"""Hostile inputs for the public API: every keyword of ``create_task`` gets plausible values,
values of the wrong type, and the edges (unicode with surrogates and NUL, NaN / inf / -0.0,
huge ints, huge and deep metadata, SQL fragments, naive and aware datetimes, timedeltas)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

SQL = ["'; DROP TABLE tasks; --", "\" OR 1=1 --", "%s", "%(x)s", "?", "?1", "$1", ":name", "\\", "'", "''",
       "NULL", "*/", "/*", "--", "tasks", "actors.tasks", "\x00", "\ud800", "\udfff", "a\x00b", " ", "\u202e"]

#: Text from the whole of Unicode (surrogates and NUL included), SQL fragments, and big strings.
texts = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(exclude_categories=()), max_size=12),
    st.sampled_from(SQL),
    st.tuples(st.sampled_from(SQL), st.text(max_size=4)).map("".join),
    st.tuples(st.text(min_size=1, max_size=3), st.integers(100, 3000)).map(lambda pair: pair[0] * pair[1]),
)
#: Strings a field would plausibly take (so accepted cases are common too).
names = st.one_of(st.sampled_from(["EMAIL", "SMS", "REPORT"]), texts)

offsets = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60 - 59, 23 * 60 + 59))
datetimes = st.one_of(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.none() | offsets),
    st.datetimes(timezones=st.none() | st.just(timezone.utc) | offsets),
    st.sampled_from([datetime.min, datetime.max, datetime.max.replace(tzinfo=timezone.utc),
                     datetime.min.replace(tzinfo=timezone(timedelta(hours=14))),
                     datetime(9999, 12, 31, tzinfo=timezone.utc), datetime(1970, 1, 1)]),
)
ints = st.one_of(st.integers(-5, 10), st.integers(), st.integers(2**31 - 3, 2**31 + 3),
                 st.sampled_from([2**63, -(2**63) - 1, 10**40, -(10**40)]))
floats = st.one_of(st.floats(), st.floats(0, 1e6),
                   st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1e-300, 1.7976931348623157e308,
                                    3.1e9, 3.2e9, 1e12]))
durations = st.one_of(floats, st.integers(0, 10**6), ints, st.timedeltas(),
                      st.sampled_from([timedelta.max, timedelta.min, timedelta(0), timedelta(microseconds=1)]))
odd = st.sampled_from([object(), complex(1, 2), Decimal("1.5"), Decimal("NaN"), uuid.UUID(int=5), frozenset({1}),
                       b"bytes", bytearray(b"x"), Ellipsis, type, print, range(3)])
scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts, st.binary(max_size=6), datetimes,
                    st.timedeltas(), odd)
#: Anything at all, nested a little.
anything = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner), st.sets(st.integers(), max_size=3),
    st.dictionaries(st.one_of(texts, st.integers(), st.none(), st.booleans()), inner, max_size=3)), max_leaves=8)

json_scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner),
    st.dictionaries(texts, inner, max_size=4),
    st.dictionaries(st.one_of(st.integers(), st.none(), st.booleans(), st.floats()), inner, min_size=1, max_size=2)),
    max_leaves=12)


class Deep(dict):  # type: ignore[type-arg]
    """Metadata ``{"deep": [[[...]]]}`` nested ``depth`` levels, shown short (hypothesis would
    recurse printing it)."""

    def __init__(self, depth: int, as_dict: bool) -> None:
        value: Any = "leaf"
        for _ in range(depth):
            value = {"a": value} if as_dict else [value]
        super().__init__(deep=value)
        self.depth = depth

    def __repr__(self) -> str:
        return f"Deep({self.depth} levels)"


deep = st.builds(Deep, st.one_of(st.integers(1, 1200), st.sampled_from([5000, 20000])), st.booleans())
huge_metadata = st.one_of(
    st.integers(1, 3000).map(lambda n: {f"k{i}": i for i in range(n)}),
    st.integers(1, 200_000).map(lambda n: {"blob": "x" * n}),
)
metadata = st.one_of(
    st.none(),
    st.dictionaries(texts, json_values, max_size=5),
    deep,
    huge_metadata,
    st.fixed_dictionaries({"updateInterval": st.one_of(ints, floats, anything)}),
    st.fixed_dictionaries({"maxFailures": st.one_of(ints, floats, anything)}),
    st.dictionaries(st.one_of(st.integers(), st.none(), texts), anything, max_size=3),
    anything,
)
retry = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={
        "max_attempts": st.one_of(ints, anything), "factor": st.one_of(floats, ints, anything),
        "min_delay": st.one_of(floats, ints), "max_delay": st.one_of(floats, ints), "jitter": st.booleans() | anything,
    }),
    st.dictionaries(texts, anything, max_size=2),
    anything,
)
optional_ids = st.one_of(st.none(), texts, st.just(uuid.UUID(int=7)), anything)
priorities = st.one_of(st.sampled_from(["high", "normal", "low", None, "HIGH", "", "urgent"]), anything)

#: One strategy per ``create_task`` keyword (each also tries ``anything``).
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "description": st.one_of(texts, anything),
    "tags": st.one_of(st.lists(texts, max_size=4), st.tuples(texts, texts), texts, anything),
    "metadata": metadata,
    "room_id": optional_ids, "world_id": optional_ids, "entity_id": optional_ids, "queue": optional_ids,
    "priority": priorities,
    "run_at": st.one_of(st.none(), datetimes, anything),
    "delay": st.one_of(st.none(), durations, anything),
    "update_interval": st.one_of(st.none(), durations, anything),
    "retry": retry,
    "max_attempts": st.one_of(st.none(), ints, anything),
    "max_failures": st.one_of(st.none(), ints, anything),
    "timeout": st.one_of(st.none(), durations, anything),
    "idempotency_key": st.one_of(st.none(), texts, anything),
    "id": st.one_of(st.none(), texts.map(lambda text: f"{text}-{uuid.uuid4().hex[:6]}"), st.uuids(), anything),
}
create_kwargs = st.fixed_dictionaries({}, optional=FIELDS)
#: Keywords ``create_task`` does not know (an unknown keyword is bad input too).
unknown_kwargs = st.dictionaries(st.sampled_from(["bogus", "status", "attempts", "result", "Name"]), anything,
                                 max_size=1)

cron_texts = st.one_of(
    st.lists(st.sampled_from(["*", "*/5", "0", "1-5", "59", "60", "0-23/2", "jan", "MON", "sun-sat", "7", "31",
                              "1,2,3", "5/15", "", "-", "*/0", "99999999999999999999", "2-1", "L", "?", "٣"]),
             min_size=1, max_size=7).map(" ".join),
    st.sampled_from(["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@reboot", "@", "0 0 31 2 *",
                     "0 0 30 2 *", "0 0 29 2 *", "* * * * * *"]),
    texts, anything,
)
