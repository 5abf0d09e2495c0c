"""Bad input is refused with a ValidationError naming the field and the value."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from actors import Retry, TaskSpec, TaskStatus, ValidationError
from actors.spec import build_task, coerce_spec, new_ids

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
