"""The bodies the HTTP API takes and answers with, as pydantic models (they make ``/openapi.json``).

Request bodies carry the keyword arguments of the ``Supervisor`` method they call; values are
checked by ``actors`` itself (a ``ValidationError`` becomes 422 naming the field), the models
only fix the JSON types. Tasks, schedules and log lines are answered as the records themselves
(``Task``, ``Schedule``, ``LogRecord``: pydantic reads their dataclass fields, so a field added to
a record is in the answer and the schema at once); ``QueueOut`` allows extra keys likewise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BulkFilter", "Count", "CreateTask", "Created", "Deleted", "ErrorBody", "QueueChanges", "QueueOut",
           "WorkerOut"]


class ErrorBody(BaseModel):
    """Every error answer: ``field`` and ``value`` name what was refused (None when no one field
    is at fault), ``error`` says why."""

    field: str | None = None
    value: Any = None
    error: str


class CreateTask(BaseModel):
    """``POST /api/tasks``: ``create_task``'s keyword arguments plus ``name`` (``delay``,
    ``timeout``, ``update_interval`` and ``idempotency_ttl`` in seconds; ``run_at`` ISO 8601 with
    a timezone). A key ``create_task`` does not take is refused (422 naming it)."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    room_id: str | None = None
    world_id: str | None = None
    entity_id: str | None = None
    priority: str | None = None
    queue: str | None = None
    run_at: datetime | None = None
    delay: float | None = None
    update_interval: float | None = None
    retry: dict[str, Any] | None = None
    max_attempts: int | None = None
    max_failures: int | None = None
    timeout: float | None = None
    idempotency_key: str | None = None
    idempotency_ttl: float | None = None
    concurrency_key: str | None = None
    max_iterations: int | None = None

#: ``create_task`` keywords the HTTP body leaves out: ``id`` (the node picks it) and ``trace`` (taken
#: from the request's own span, never from its body).
NOT_IN_BODY = frozenset({"id", "trace"})


class Created(BaseModel):
    """The id of the task a ``POST /api/tasks`` stored."""

    id: str


class Deleted(BaseModel):
    """``DELETE /api/tasks/{id}``: the task is gone."""

    id: str
    deleted: bool


class Count(BaseModel):
    """A bulk action's answer: how many tasks it changed."""

    count: int


class BulkFilter(BaseModel):
    """The tasks a bulk action applies to: ``get_tasks``' filters (every given one must match;
    ``tags``: a task must carry all). No filter: every task (private workers' tasks only when
    ``name`` names them)."""

    model_config = ConfigDict(extra="forbid")

    status: str | list[str] | None = None
    name: str | None = None
    queue: str | None = None
    tags: list[str] | None = None
    parent_id: str | None = None
    room_id: str | None = None
    world_id: str | None = None
    entity_id: str | None = None


class QueueOut(BaseModel):
    """A queue's settings and state (``sup.get_queues``); ``rate_limit`` is ``[count, seconds]``."""

    model_config = ConfigDict(extra="allow")

    name: str
    concurrency: int | None = None
    key_concurrency: int | None = None
    rate_limit: list[int | float] | None = Field(None, min_length=2, max_length=2)
    paused: bool = False
    counts: dict[str, int] = Field(default_factory=dict)
    running: int = 0


class QueueChanges(BaseModel):
    """``PATCH /api/queues/{name}``: ``set_queue``'s keywords. A key left out keeps its stored
    value; a key given as null removes that limit. ``rate_limit``: ``"N/s"``, ``"N/m"``, ``"N/h"``
    or ``[N, seconds]``."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int | None = None
    key_concurrency: int | None = None
    rate_limit: str | list[int | float] | None = None
    paused: bool | None = None


class WorkerOut(BaseModel):
    """A task worker registered on the node (its definition: ``TaskWorker.describe()``)."""

    model_config = ConfigDict(extra="allow")

    name: str
    title: str | None = None
    description: str | None = None
    private: bool | None = None
    queue: str | None = None
    isolation: str | None = None
    frequency: float | None = None
    cron: str | None = None
