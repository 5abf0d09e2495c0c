"""What a node tells about itself as it goes: ``subscribe`` (its events) and ``aio`` (its async
view), a mixin of the handle ``Supervisor``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import NodeStopped
from ..feed.event import Event

if TYPE_CHECKING:
    from ..aio import AsyncSupervisor
    from ..feed.bus import EventBus

__all__ = ["Observing"]


class Observing:
    """``subscribe`` and ``aio``, for ``Supervisor``."""

    if TYPE_CHECKING:  # provided by Supervisor
        _bus: EventBus
        _stopped: bool
        _aio: AsyncSupervisor | None

    @property
    def aio(self) -> AsyncSupervisor:
        """This node's async view (``actors.AsyncSupervisor``): every method as a coroutine; its
        thread pool closes when the node stops."""
        if self._aio is None:
            from ..aio import AsyncSupervisor

            self._aio = AsyncSupervisor(self)  # type: ignore[arg-type]
        return self._aio

    def subscribe(self, fn: Callable[[Event], Any], events: str | Iterable[str] | None = None) -> Callable[[], None]:
        """Call ``fn(event)`` (an :class:`actors.Event`) for each event of this node's tasks of the
        kinds in ``events`` (None: every kind in ``actors.feed.event.KINDS``). Returns
        ``unsubscribe()``.

        ``fn`` runs on the node's one event thread, never the node's own: a slow subscriber
        delays only other subscribers; past a bounded buffer the oldest events are dropped
        (``stats()["events"]["dropped"]``); an exception it raises is logged once per burst and
        counted (``stats()["events"]["errors"]``), never propagated. Events of tasks other nodes
        record in the same store are delivered too, within about a second.

        Raises:
            ValidationError: ``fn`` not callable, or an unknown kind in ``events``.
            NodeStopped: the node is stopped.
        """
        if self._stopped:
            raise NodeStopped()
        return self._bus.subscribe(fn, events)
