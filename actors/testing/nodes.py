"""Nodes for tests: an inline node on a manual clock, on the memory store or a temporary SQLite file.

Tasks run inline (in the worker actor's thread, no child process, one at a time) and
time moves only when the test moves it (``advance``) or calls ``sup.tick()``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..clock import ManualClock
from ..errors import ValidationError

if TYPE_CHECKING:
    from ..runtime.handle import Supervisor

__all__ = ["STORES", "inline_supervisor", "store_for"]

#: The store kinds ``store_for`` (and the pytest plugin's ``actors`` marker) know.
STORES = ("memory", "sqlite")


def inline_supervisor(store: Any = "memory://", *, clock: ManualClock | None = None,
                      workers: int = 1, **options: Any) -> Supervisor:
    """A node that runs tasks inline on ``store`` with a manual clock (no scheduler thread).

    ``options`` are ``Supervisor.start``'s other keywords. Stop it after the test
    (``with inline_supervisor() as sup:`` or ``sup.stop()``).

    Example:
        >>> from actors.testing import inline_supervisor
        >>> with inline_supervisor() as sup:
        ...     sup.clock.now()
        1700000000.0
    """
    from ..runtime.handle import Supervisor
    from .running import track

    node = Supervisor.start(store, workers=workers, executor="inline", clock=clock or ManualClock(), **options)
    track(node)
    return node


def store_for(kind: str, directory: str | os.PathLike[str]) -> str:
    """The store address of a test node of ``kind`` (``"memory"`` or ``"sqlite"``: a
    ``tasks.db`` file in ``directory``).

    Raises:
        ValidationError: an unknown kind (field ``store``).
    """
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return os.path.join(os.fspath(directory), "tasks.db")
    raise ValidationError("store", kind, f"must be one of {', '.join(STORES)}")

