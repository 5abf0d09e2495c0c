"""The in-memory task store: ``MemoryStore`` (unit tests and inline mode).

Modules: ``store`` (the class: creating, reading, changing, user transitions), ``attempts``
(claims and attempt ends), ``maintenance`` (reclaim, due times, prune, counts), ``rows``
(a task in storage form), ``cluster`` (nodes, leases, schedules). Nothing here imports pykka.
"""

from .store import MemoryStore

__all__ = ["MemoryStore"]
