"""Kept for imports: the handle and ``open_store`` live in ``actors.runtime``.

``actors.runtime.handle.Supervisor`` is the node's handle; ``actors.runtime.node`` is the
composition root (``Supervisor.start``'s building and wiring, ``open_store``).
"""

from __future__ import annotations

from .runtime.handle import Supervisor
from .runtime.node import open_store

__all__ = ["Supervisor", "open_store"]
