"""Optional capabilities of a ``TaskStore``: a store has them or not; callers ask the guards.

Re-exported by ``storage.base``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeGuard, runtime_checkable

__all__ = ["DataVersioned", "ListenerReporting", "Subscribable", "data_versioned", "reports_listener",
           "subscribable"]


# --- optional capabilities: a store has them or not; callers ask the guards below -------

@runtime_checkable
class DataVersioned(Protocol):
    """A store that can tell cheaply whether another process wrote (SQLite, PostgreSQL)."""

    def data_version(self) -> int:
        """A number that changes when another connection or store instance committed work."""
        ...


@runtime_checkable
class Subscribable(Protocol):
    """A store that wakes a serving node when another process commits work (SQLite, PostgreSQL)."""

    def subscribe(self, on_wake: Callable[[float | None], None]) -> None:
        """Call ``on_wake(due)`` (from a thread) when work due at ``due`` (None: now) was committed."""
        ...


@runtime_checkable
class ListenerReporting(Protocol):
    """A store whose wake-up listener reports its state (SQLite, PostgreSQL)."""

    def listener_health(self) -> dict[str, Any] | None:
        """The listener's state, or None while it does not listen."""
        ...


def data_versioned(store: object) -> TypeGuard[DataVersioned]:
    """Whether ``store`` is ``DataVersioned`` (decided once per class: callers ask per tick)."""
    return _class_has(type(store), DataVersioned)


def subscribable(store: object) -> TypeGuard[Subscribable]:
    """Whether ``store`` is ``Subscribable``."""
    return _class_has(type(store), Subscribable)


def reports_listener(store: object) -> TypeGuard[ListenerReporting]:
    """Whether ``store`` is ``ListenerReporting``."""
    return _class_has(type(store), ListenerReporting)


_KNOWN: dict[tuple[type, type], bool] = {}  # (store class, capability) -> has it


def _class_has(cls: type, capability: type) -> bool:
    known = _KNOWN.get((cls, capability))
    if known is None:
        known = _KNOWN[cls, capability] = issubclass(cls, capability)
    return known
