"""``assert_enqueued`` / ``assert_not_enqueued``: what a test expects to be waiting in the store.

Modelled on Oban.Testing's ``assert_enqueued``. "Enqueued" means PENDING: due now or
later (a delayed task, a retry waiting for its back-off, a recurring task between runs).
The filters are ``get_tasks``' keywords (``tags``, ``room_id``, ``queue``, ``parent_id``,
...) and any other ``Task`` field compared for equality (``priority``,
``update_interval``, ``concurrency_key``, ...); ``metadata`` matches when every key
given is in the task's metadata with that value (other keys are ignored).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..models import Task

if TYPE_CHECKING:
    from ..runtime.handle import Supervisor

__all__ = ["assert_enqueued", "assert_not_enqueued", "enqueued"]

#: ``get_tasks``' keywords: passed to the store's query.
_QUERY = frozenset({"room_id", "world_id", "entity_id", "tags", "name", "queue", "parent_id"})
#: The other ``Task`` fields a filter may name.
_FIELDS = frozenset(field.name for field in dataclasses.fields(Task)) - _QUERY - {"status", "metadata"}


def enqueued(sup: Supervisor, *, name: str | None = None, metadata: Mapping[str, Any] | None = None,
             **filters: Any) -> list[Task]:
    """The PENDING tasks of ``sup`` that match ``name``, ``metadata`` and ``filters``
    (module docstring), oldest first.

    Raises:
        ValidationError: a filter that is neither a ``get_tasks`` keyword nor a ``Task`` field.
    """
    for key, value in filters.items():
        if key not in _QUERY and key not in _FIELDS:
            raise ValidationError(key, value, "is neither a get_tasks filter nor a Task field")
    query = {key: value for key, value in filters.items() if key in _QUERY}
    fields = {key: value for key, value in filters.items() if key in _FIELDS}
    wanted = dict(metadata or {})
    return [task for task in sup.get_tasks(name=name, status="pending", **query)
            if all(key in task.metadata and task.metadata[key] == value for key, value in wanted.items())
            and all(getattr(task, key) == value for key, value in fields.items())]


def assert_enqueued(sup: Supervisor, *, name: str | None = None, metadata: Mapping[str, Any] | None = None,
                    count: int | None = None, **filters: Any) -> Task:
    """Assert that at least one PENDING task matches (exactly ``count`` when given); return
    the first (oldest) one.

    Raises:
        AssertionError: nothing matches (or not ``count``); the message lists what is PENDING.
        ValidationError: as ``enqueued``.

    Example:
        >>> from actors.testing import assert_enqueued, inline_supervisor
        >>> with inline_supervisor() as sup:
        ...     _ = sup.create_task("SEND", metadata={"to": "ada", "lang": "en"}, delay=60)
        ...     assert_enqueued(sup, name="SEND", metadata={"to": "ada"}).name
        'SEND'
    """
    found = enqueued(sup, name=name, metadata=metadata, **filters)
    if not found or (count is not None and len(found) != count):
        how_many = "at least one" if count is None else str(count)
        wanted = f"{how_many} PENDING task(s) matching {_describe(name, metadata, filters)}"
        raise AssertionError(f"expected {wanted}, found {len(found)}; PENDING now: {_pending(sup)}")
    return found[0]


def assert_not_enqueued(sup: Supervisor, *, name: str | None = None, metadata: Mapping[str, Any] | None = None,
                        **filters: Any) -> None:
    """Assert that no PENDING task matches.

    Raises:
        AssertionError: some do; the message lists them. ValidationError: as ``enqueued``.
    """
    found = enqueued(sup, name=name, metadata=metadata, **filters)
    if found:
        raise AssertionError(f"expected no PENDING task matching {_describe(name, metadata, filters)}, "
                             f"found {len(found)}: {[_brief(task) for task in found]}")


def _describe(name: str | None, metadata: Mapping[str, Any] | None, filters: Mapping[str, Any]) -> str:
    given = {"name": name, "metadata": dict(metadata) if metadata else None, **filters}
    return ", ".join(f"{key}={value!r}" for key, value in given.items() if value is not None) or "anything"


def _brief(task: Task) -> str:
    return f"{task.name}({task.id[:8]}, metadata={task.metadata!r})"


def _pending(sup: Supervisor) -> list[str]:
    return [_brief(task) for task in sup.get_tasks(status="pending", limit=20)]
