"""Bad input is refused with a ValidationError naming the field and the value."""

from __future__ import annotations

import dataclasses
import math
import os
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest

from actors import Retry, TaskSpec, TaskStatus, ValidationError
from actors.models import Task, direct_constructor
from actors.spec import build_task, coerce_spec, new_ids
from actors.spec.task import uuid4_texts

NOW = 1_700_000_000.0


def build(**fields: object) -> object:
    fields.setdefault("name", "JOB")
    return build_task(TaskSpec(**fields), task_id="t1", now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "field_name", "shown"),
    [
        ({"name": ""}, "name", "''"),
        ({"name": "   "}, "name", "'   '"),
        ({"name": 42}, "name", "42"),
        ({"metadata": {"when": datetime.now}}, "metadata['when']", "built-in method now"),
        ({"metadata": {"x": math.nan}}, "metadata['x']", "nan"),
        ({"metadata": {1: "a"}}, "metadata", "1"),
        ({"metadata": ["a"]}, "metadata", "['a']"),
        ({"priority": "urgent"}, "priority", "'urgent'"),
        ({"delay": -1}, "delay", "-1"),
        ({"delay": "soon"}, "delay", "'soon'"),
        ({"update_interval": 0}, "update_interval", "0"),
        ({"update_interval": -5}, "update_interval", "-5"),
        ({"update_interval": math.inf}, "update_interval", "inf"),
        ({"metadata": {"updateInterval": 0}}, "metadata['updateInterval']", "0"),
        ({"tags": "sync"}, "tags", "'sync'"),
        ({"tags": ["ok", ""]}, "tags", "''"),
        ({"timeout": 0}, "timeout", "0"),
        ({"max_attempts": 0}, "max_attempts", "0"),
        ({"max_attempts": 1.5}, "max_attempts", "1.5"),
        ({"run_at": "tomorrow"}, "run_at", "'tomorrow'"),
        ({"room_id": 7}, "room_id", "7"),
        ({"description": None}, "description", "None"),
        ({"idempotency_key": ""}, "idempotency_key", "''"),
    ],
)
def test_bad_input_names_field_and_value(fields: dict[str, object], field_name: str, shown: str) -> None:
    with pytest.raises(ValidationError) as info:
        build(**fields)
    assert info.value.field == field_name
    assert str(info.value).startswith(f"{field_name}=")
    assert shown in str(info.value)


def test_run_at_and_delay_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="not both"):
        build(run_at=datetime.now(timezone.utc), delay=5)


def test_defaults_and_due_time() -> None:
    task = build()
    assert task.status is TaskStatus.PENDING
    assert task.priority == "normal"
    assert task.run_at == datetime.fromtimestamp(NOW, tz=timezone.utc)
    assert task.max_failures == 5
    assert task.update_interval is None


def test_delay_accepts_timedelta() -> None:
    task = build(delay=timedelta(minutes=2))
    assert task.run_at == datetime.fromtimestamp(NOW + 120, tz=timezone.utc)


def test_seed_update_interval_in_ms_makes_a_recurring_task_first_due_one_interval_in() -> None:
    task = build(metadata={"updateInterval": 1500}, tags=["queue", "repeat"])
    assert task.update_interval == 1.5
    assert task.run_at == datetime.fromtimestamp(NOW + 1.5, tz=timezone.utc)


@pytest.mark.parametrize("ms", [0, -5, "1000", True])
def test_a_bad_seed_update_interval_names_milliseconds_not_seconds(ms: object) -> None:
    with pytest.raises(ValidationError) as info:
        build(metadata={"updateInterval": ms})
    assert info.value.field == "metadata['updateInterval']"
    assert "milliseconds" in info.value.reason
    assert "seconds" not in info.value.reason.replace("milliseconds", "")


def test_max_failures_zero_or_negative_means_never_and_seed_key_is_read() -> None:
    assert build(max_failures=0).max_failures == -1
    assert build(metadata={"maxFailures": None}).max_failures == -1
    assert build(metadata={"maxFailures": 2}).max_failures == 2


def test_duplicate_tags_are_kept_once_in_order() -> None:
    assert build(tags=["b", "a", "b"]).tags == ("b", "a")


def test_retry_is_stored_as_json() -> None:
    assert build(retry=Retry(max_attempts=4, jitter=False)).retry == {
        "max_attempts": 4, "factor": 2.0, "min_delay": 1.0, "max_delay": 60.0, "jitter": False}


def test_coerce_spec_names_unknown_and_missing_fields() -> None:
    with pytest.raises(ValidationError) as info:
        coerce_spec({"name": "A", "colour": "red"}, 3)
    assert info.value.field == "specs[3].colour"
    with pytest.raises(ValidationError) as info:
        coerce_spec({"description": "x"}, 0)
    assert info.value.field == "specs[0].name"


def test_new_ids_are_distinct_version_4_uuids() -> None:
    ids = new_ids(500)
    assert len(set(ids)) == 500
    assert all(uuid.UUID(text).version == 4 and str(uuid.UUID(text)) == text for text in ids)
    assert new_ids(0) == []


def test_a_bad_value_deep_in_metadata_is_named_by_its_top_level_key() -> None:
    with pytest.raises(ValidationError) as info:
        build(metadata={"ok": [1, 2], "deep": {"list": [1, {"x": {1, 2}}]}})
    assert info.value.field == "metadata['deep']"


# --- found by tests/fuzz (each used to escape as a non-actors error, or to store a value that
# --- does not come back, or that no store could keep) -------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"name": "a\ud800"}, "name"),                       # lone surrogate: UnicodeEncodeError in SQLite
        ({"name": "a\x00b"}, "name"),                        # NUL: PostgreSQL text refuses it (StoreError)
        ({"description": "x\x00"}, "description"),
        ({"tags": ["ok", "\udfff"]}, "tags"),
        ({"queue": "q\x00"}, "queue"),
        ({"room_id": "\ud800"}, "room_id"),
        ({"idempotency_key": "k\x00"}, "idempotency_key"),
        ({"max_attempts": 2**31}, "max_attempts"),           # OverflowError in SQLite, StoreError in PostgreSQL
        ({"max_failures": 10**20}, "max_failures"),
        ({"metadata": {"maxFailures": 2**40}}, "metadata['maxFailures']"),
        ({"delay": 1e300}, "delay"),                         # OverflowError building run_at
        ({"delay": timedelta.max}, "delay"),                 # ValueError: year out of range
        ({"update_interval": 1e12}, "update_interval"),
        ({"timeout": 1e300}, "timeout"),
        ({"metadata": {"updateInterval": 1e300}}, "metadata['updateInterval']"),
        ({"metadata": {"updateInterval": 5e-324}}, "metadata['updateInterval']"),  # 0 s once divided by 1000
        ({"run_at": datetime.max}, "run_at"),                # stored, then every read raised ValueError
        ({"run_at": datetime.min.replace(tzinfo=timezone(timedelta(hours=14)))}, "run_at"),
        ({"metadata": {"a": {1: "x"}}}, "metadata['a']"),    # came back as {"a": {"1": "x"}}
        ({"metadata": {"a": [{"b": {None: 1}}]}}, "metadata['a'][0]['b']"),
    ],
)
def test_hostile_values_are_refused_naming_the_field(fields: dict[str, object], field_name: str) -> None:
    with pytest.raises(ValidationError) as info:
        build(**fields)
    assert info.value.field == field_name
    assert str(info.value).startswith(f"{field_name}=")


def test_edge_values_a_store_can_keep_are_accepted() -> None:
    task = build(name="'; DROP TABLE tasks; --", tags=["%s", "?", "é"], max_attempts=2**31 - 1,
                 metadata={"n": 10**40, "z": -0.0, "tiny": 5e-324, "s": "\u202e\ud7ff", "t": (1, 2)},
                 run_at=datetime(9999, 12, 30, tzinfo=timezone.utc), update_interval=3e9)
    assert task.name == "'; DROP TABLE tasks; --" and task.max_attempts == 2**31 - 1
    assert task.metadata["n"] == 10**40


@pytest.mark.parametrize("task_id", [123, "\ud800", "a\x00"])
def test_a_task_id_no_store_can_keep_is_refused(task_id: object) -> None:
    # create_task(id=123) was stored as 123 by memory and as '123' by SQLite
    with pytest.raises(ValidationError) as info:
        build_task(TaskSpec(name="A"), task_id=task_id, now=NOW)  # type: ignore[arg-type]
    assert info.value.field == "id"


def test_coerce_spec_with_keys_of_mixed_types_names_one() -> None:
    with pytest.raises(ValidationError) as info:
        coerce_spec({"name": "A", None: 1, "": 2}, 0)  # used to raise TypeError sorting None and str
    assert info.value.field in ("specs[0].None", "specs[0].")


def test_a_value_too_deep_to_repr_is_refused_with_a_short_message() -> None:
    deep: list[object] = []
    inner = deep
    for _ in range(100_000):
        inner.append([])
        inner = inner[0]  # type: ignore[assignment]
    with pytest.raises(ValidationError) as info:  # used to raise RecursionError building the message
        build(metadata={"deep": deep})
    assert info.value.field == "metadata['deep']" and len(str(info.value)) < 300


# --- the create path's shortcuts give what the long way gives ----------------------------------


@pytest.mark.parametrize("raw", [bytes(48), b"\xff" * 32, bytes(range(256)), os.urandom(16 * 64)])
def test_uuid4_texts_formats_each_chunk_as_uuid_does(raw: bytes) -> None:
    assert uuid4_texts(raw) == [str(uuid.UUID(bytes=raw[at:at + 16], version=4)) for at in range(0, len(raw), 16)]


def test_direct_constructor_builds_what_init_builds() -> None:
    make = direct_constructor(Task)
    values = {"id": "t", "name": "A", "tags": ("x",), "metadata": {"k": 1}, "max_failures": 3}
    one, two = make(values), make(values)
    assert one == Task(**values) and repr(one) == repr(Task(**values))  # type: ignore[arg-type]
    assert one.steps == {} and one.steps is not two.steps  # a default_factory runs per object
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.name = "B"  # type: ignore[misc]


def test_direct_constructor_refuses_a_class_with_a_post_init() -> None:
    @dataclasses.dataclass(frozen=True)
    class Checked:
        n: int

        def __post_init__(self) -> None:
            assert self.n > 0

    with pytest.raises(TypeError, match="__post_init__"):
        direct_constructor(Checked)


@pytest.mark.parametrize("spec", [{"name": "A"}, {"name": "A", "queue": "q", "tags": ["t"], "delay": 5},
                                  MappingProxyType({"name": "A", "metadata": {"x": 1}})])
def test_coerce_spec_of_a_dict_equals_the_spec_of_its_keywords(spec: Mapping[str, Any]) -> None:
    assert coerce_spec(spec, 0) == TaskSpec(**spec)


def test_build_task_keeps_one_time_for_created_updated_and_due() -> None:
    task = build()
    assert task.created_at == task.updated_at == task.run_at == datetime.fromtimestamp(NOW, tz=timezone.utc)
    later = build_task(TaskSpec(name="A"), task_id="t2", now=NOW + 1)
    assert later.created_at == datetime.fromtimestamp(NOW + 1, tz=timezone.utc)


def test_build_task_applies_the_given_defaults_only_where_the_spec_has_none() -> None:
    carrier = {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
    task = build_task(TaskSpec(name="A"), task_id="t", now=NOW, default_priority="low", default_queue="crm",
                      default_trace=carrier, parent_id="p")
    assert (task.priority, task.queue, task.trace, task.parent_id) == ("low", "crm", carrier, "p")
    own = {"traceparent": "00-" + "3" * 32 + "-" + "4" * 16 + "-01"}
    task = build_task(TaskSpec(name="A", priority="high", queue="mine", trace=own), task_id="t", now=NOW,
                      default_priority="low", default_queue="crm", default_trace=carrier)
    assert (task.priority, task.queue, task.trace, task.parent_id) == ("high", "mine", own, None)


def test_the_first_bad_field_is_named_when_several_are_bad() -> None:
    with pytest.raises(ValidationError) as info:
        build(queue="", tags="x", trace=[1])
    assert info.value.field == "queue"
    with pytest.raises(ValidationError) as info:
        build(tags="x", trace=[1])
    assert info.value.field == "tags"


@pytest.mark.parametrize(("metadata", "field_name"), [
    ({"ok": 1, "big": 10**5000}, "metadata['big']"),  # no decimal text (sys.get_int_max_str_digits)
    ({"ok": True, "x": -math.inf}, "metadata['x']"),
    ({"ok": None, "s": {1, 2}}, "metadata['s']"),
])
def test_metadata_of_scalars_is_still_checked_value_by_value(metadata: dict[str, Any], field_name: str) -> None:
    with pytest.raises(ValidationError) as info:
        build(metadata=metadata)
    assert info.value.field == field_name


def test_metadata_of_scalars_is_stored_as_a_copy() -> None:
    metadata = {"s": "\ud800 is kept escaped", "i": 10**500, "f": 1.5, "b": False, "n": None}
    task = build(metadata=metadata)
    assert task.metadata == metadata and task.metadata is not metadata


def test_build_task_hands_over_every_field_in_task_order() -> None:
    # the whole state is handed to the Task as is (direct_constructor(adopt=True)); a field added
    # to Task but not to build_task would come out of the slower merge, in another order
    task = build(tags=["a"], queue="q", delay=5, idempotency_key="k", idempotency_ttl=60)
    assert list(vars(task)) == [f.name for f in dataclasses.fields(Task)]
    assert task == Task(**vars(task))


def test_direct_constructor_adopts_only_a_dict_of_every_field() -> None:
    make = direct_constructor(Task, adopt=True)
    full = vars(build())
    again = dict(full)
    assert vars(make(again)) is again
    partial = {"id": "t", "name": "A"}
    assert vars(make(partial)) is not partial and make(partial) == Task(id="t", name="A")
