"""``actors.Event``: one change of one task, as ``sup.subscribe`` delivers it.

Kernel (stdlib only). An event is frozen and JSON-friendly: ``at`` is an aware UTC
``datetime`` and ``data`` a dict of JSON values; :meth:`Event.as_dict` and
:meth:`Event.to_json` give the form the HTTP API's ``/api/events`` sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import ValidationError
from ..models import Task

__all__ = ["KINDS", "Event", "check_kinds", "event_at", "task_event"]

#: Every kind of event, in a task's usual order.
KINDS: tuple[str, ...] = ("created", "started", "progress", "metadata", "succeeded", "failed", "retrying",
                          "continued", "cancelled", "paused", "resumed")
_KIND_SET = frozenset(KINDS)


@dataclass(frozen=True)
class Event:
    """One change of one task.

    Attributes:
        kind: one of :data:`KINDS`.
        task_id, name: the task's id and worker name.
        queue: the task's queue (``"default"`` for a task without one).
        at: when the change was recorded (aware UTC).
        data: what the kind carries, JSON values only: ``attempt`` (started, succeeded,
            failed, retrying), ``progress`` (progress), ``values`` (metadata), ``result``
            (succeeded), ``error`` (failed, retrying), ``run_at`` (retrying, continued:
            ISO text), ``node_id`` (the node that recorded it, on events it emitted itself),
            ``source: "store"`` (derived from a row read back from the store: another node's
            change, see ``actors.feed.follow``).
    """

    kind: str
    task_id: str
    name: str
    queue: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The event as JSON values (``at`` as ISO 8601 text)."""
        return {"kind": self.kind, "task_id": self.task_id, "name": self.name, "queue": self.queue,
                "at": self.at.isoformat(), "data": dict(self.data)}

    def to_json(self) -> str:
        """:meth:`as_dict` as one line of JSON (a value that is not JSON is written as its text)."""
        return json.dumps(self.as_dict(), default=str, separators=(",", ":"))


def event_at(timestamp: float) -> datetime:
    """An event's ``at`` from epoch seconds."""
    return datetime.fromtimestamp(timestamp, timezone.utc)


def check_kinds(events: str | Iterable[str] | None) -> frozenset[str]:
    """The kinds a subscriber asked for (None: every kind; a string: that one kind).

    Raises:
        ValidationError: on ``events``, naming an unknown kind or a value that is not one.
    """
    if events is None:
        return _KIND_SET
    given: Iterable[object] = (events,) if isinstance(events, str) else events
    if isinstance(events, Mapping) or not isinstance(given, Iterable):
        raise ValidationError("events", events, f"must be None, a kind or a list of kinds out of {KINDS}")
    kinds = list(given)
    unknown = [kind for kind in kinds if not isinstance(kind, str) or kind not in _KIND_SET]
    if unknown:
        raise ValidationError("events", events, f"unknown kind(s) {unknown}; the kinds are {KINDS}")
    if not kinds:
        raise ValidationError("events", events, "names no kind (None subscribes to every kind)")
    return frozenset(kinds)  # type: ignore[arg-type]


def task_event(kind: str, task: Task, now: float, data: dict[str, Any]) -> Event:
    """An event of ``task`` recorded at ``now`` (epoch seconds)."""
    return Event(kind, task.id, task.name, task.queue or "default", event_at(now), data)
