"""Process isolation: ``ProcessExecutor`` runs jobs in a child process (a fresh interpreter).

The package, by side:

- ``executor`` — ``ProcessExecutor``, the parent side (the only module importing cloudpickle);
  ``guard`` — its deadlines, aborts, kills and memory watch; ``bookkeeping`` — what it knows
  about its jobs and what becomes of them when a child dies (pure);
- ``loop`` — this process's one I/O thread for every child's socket, its timers and helper
  threads; ``procs`` — watching and killing a child (the only module importing psutil);
  ``spawn`` — starting a child and its handshake;
- ``wire`` — the framing both sides share; ``child`` and ``outbox`` — the child side, one
  thread on the per-task path (stdlib and kernel only: importing this package imports
  nothing else, so a child never loads the parent's dependencies).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import ChildStartError

if TYPE_CHECKING:
    from .executor import ProcessExecutor

__all__ = ["ChildStartError", "ProcessExecutor"]


def __getattr__(name: str) -> Any:
    if name == "ProcessExecutor":
        from .executor import ProcessExecutor

        return ProcessExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
