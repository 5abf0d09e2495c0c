"""What a caller may ask for when creating or changing a task, and every check a field passes:
the one home of the field checks (``task``: at create and update; ``stored``: what a store
accepts). Pure: ids and times are arguments.
"""

from __future__ import annotations

from .stored import (
    UPDATABLE_FIELDS,
    check_finish_status,
    check_search,
    check_storable,
    check_tags,
    check_update,
    distinct_ids,
    required_time,
    words,
)
from .task import (
    DEFAULT_MAX_FAILURES,
    MAX_INT,
    MAX_NAME_LENGTH,
    MAX_SECONDS,
    SPEC_FIELDS,
    TaskSpec,
    build_task,
    check_json,
    check_name,
    check_priority,
    check_priority_name,
    check_run_at,
    check_task_id,
    check_text,
    coerce_spec,
    instant,
    interval_from_metadata,
    json_text,
    new_ids,
    optional_str,
    seconds,
)

__all__ = [
    "DEFAULT_MAX_FAILURES",
    "MAX_INT",
    "MAX_NAME_LENGTH",
    "MAX_SECONDS",
    "SPEC_FIELDS",
    "UPDATABLE_FIELDS",
    "TaskSpec",
    "build_task",
    "check_finish_status",
    "check_json",
    "check_name",
    "check_priority",
    "check_priority_name",
    "check_run_at",
    "check_search",
    "check_storable",
    "check_tags",
    "check_task_id",
    "check_text",
    "check_update",
    "coerce_spec",
    "distinct_ids",
    "instant",
    "interval_from_metadata",
    "json_text",
    "new_ids",
    "optional_str",
    "required_time",
    "seconds",
    "words",
]
