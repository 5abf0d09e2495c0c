"""Queues and flow control on a running node: the handle's methods (``QueueMethods``, a
mixin of ``Supervisor``), their messages, and the supervisor's handlers for them.

Settings live in the store (``TaskStore.set_queue``): every node sharing it obeys them in
its claims. A change wakes the other nodes (the store's wake-ups: SQLite's sockets,
PostgreSQL's NOTIFY) and this node's supervisor claims at once (``_invalidate``), so a
resumed queue's tasks start without waiting for a poll.

Example:
    >>> from actors import Supervisor
    >>> with Supervisor.start("memory://", workers=0) as sup:
    ...     sup.set_queue("emails", concurrency=5, rate_limit="100/m").rate_limit
    (100, 60.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

from ..models import QueueInfo
from ..spec.queues import check_queue_changes, check_queue_name

__all__ = ["GetQueues", "QueueMethods", "SetQueue", "queue_handlers"]

_KEEP: Any = object()  # a keyword not passed: the stored value stays


class SetQueue(NamedTuple):
    """Declare or change queue ``name`` (``changes`` checked). Reply: its ``QueueInfo``."""

    name: str
    changes: Mapping[str, Any]


class GetQueues(NamedTuple):
    """Reply: every queue's ``QueueInfo`` (``TaskStore.queues``)."""


class QueueMethods:
    """``Supervisor``'s queue methods (see ``API.md``, "Queues and flow control")."""

    _ask: Callable[..., Any]  # the handle's: one message to the supervisor actor, its reply

    def set_queue(self, name: str, *, concurrency: int | None = _KEEP, key_concurrency: int | None = _KEEP,
                  rate_limit: str | tuple[int, float] | None = _KEEP, paused: bool = _KEEP) -> QueueInfo:
        """Declare queue ``name`` or change it: a keyword not passed keeps its stored value, one
        passed as None removes that limit. Every node sharing the store obeys it at once.

        Args:
            concurrency: most of its tasks RUNNING at once, across every node.
            key_concurrency: most RUNNING per ``concurrency_key`` within the queue.
            rate_limit: most attempts started per period across every node: ``"N/s"``,
                ``"N/m"``, ``"N/h"`` or ``(N, seconds)``.
            paused: True: it starts nothing new (its tasks wait).

        Raises:
            ValidationError: a bad name or setting (named); nothing is stored.
        """
        given = {"concurrency": concurrency, "key_concurrency": key_concurrency, "rate_limit": rate_limit,
                 "paused": paused}
        changes = check_queue_changes({field: value for field, value in given.items() if value is not _KEEP})
        info: QueueInfo = self._ask(SetQueue(check_queue_name(name), changes))
        return info

    def pause_queue(self, name: str) -> QueueInfo:
        """``set_queue(name, paused=True)``: the queue starts nothing until resumed."""
        return self.set_queue(name, paused=True)

    def resume_queue(self, name: str) -> QueueInfo:
        """``set_queue(name, paused=False)``: its waiting tasks start (on every node)."""
        return self.set_queue(name, paused=False)

    def get_queues(self) -> list[QueueInfo]:
        """Every declared queue and every queue with tasks, by name: settings, counts, running."""
        queues: list[QueueInfo] = self._ask(GetQueues())
        return queues


class _Supervises(Protocol):
    _store: Any

    def _invalidate(self) -> None: ...


def queue_handlers(actor: _Supervises) -> dict[type, Callable[[Any], Any]]:
    """The supervisor actor's handlers for the queue messages."""

    def set_queue(message: SetQueue) -> QueueInfo:
        info: QueueInfo = actor._store.set_queue(message.name, message.changes)
        actor._invalidate()  # a raised limit or a resume: claim now
        return info

    return {SetQueue: set_queue, GetQueues: lambda _: actor._store.queues()}
