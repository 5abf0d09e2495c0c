"""The store's transitions for iterations and durable steps (``Iterating``, part of the
``TaskStore`` protocol) and the record of a continue (``Continuation``).

Both writes are about a running attempt and carry its token: a stale one changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Continuation", "Iterating"]


@dataclass(frozen=True)
class Continuation:
    """An attempt that returned ``actors.Continue``: the task's next iteration, applied only if
    ``token`` matches (``TaskStore.continue_tasks``).

    The row goes back to PENDING (PAUSED if a pause was requested while it ran) due at
    ``run_at``, with ``iteration + 1``, ``attempts``, ``failure_count`` and ``crash_count`` at 0,
    its ``steps`` cleared, ``error`` and ``result`` cleared, and its metadata replaced by
    ``metadata`` when that is not None: all in the transaction that ends the attempt, so a node
    that dies between two iterations loses nothing.
    """

    task_id: str
    token: str
    run_at: float
    metadata: dict[str, Any] | None = None



class Iterating(Protocol):
    """``continue_tasks`` and ``save_step``: every store implements them (``TaskStore``)."""

    def continue_tasks(self, continuations: Sequence[Continuation], now: float) -> list[str]:
        """Record attempts that continue (``Continuation``) in one transaction; returns the ids
        applied (others were stale). ``now`` is kept as the row's last run time.

        Raises:
            ValidationError: a ``metadata`` that is not JSON; nothing is applied.
        """
        ...

    def save_step(self, task_id: str, token: str, key: str, value: Any, now: float) -> bool:
        """Keep ``value`` (JSON) as the running attempt's step ``key`` (``task.steps[key]``); a key
        already stored keeps its first value. False (nothing written) if the token is stale.

        Raises:
            ValidationError: ``value`` is not JSON, or ``key`` is not a non-empty string.
        """
        ...
