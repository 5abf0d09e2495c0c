"""One error tree for everything `actors` raises on purpose.

```
ActorsError
 ├── TaskNotFound        an id that names no task (update, pause, resume, cancel, wait)
 ├── ValidationError     bad input; the message names the field and the value; nothing stored
 ├── UnknownWorker       a worker name that is not registered where it must be
 ├── TaskFailed          raised by ``wait``: the task failed for good (error text, attempts)
 ├── TaskCancelled       raised by ``wait``: the task was cancelled or deleted
 ├── StoreError          the store cannot be opened or used (names the path or host)
 ├── NodeStopped         a call on a node that was stopped (by ``stop()`` or by itself: the reason)
 ├── Timeout             a bounded wait ran out
 ├── ChildStartError     a pool's child process could not be started (also a RuntimeError)
 └── AbortTask           raised by a task's own code: the task FAILS now, with no retry
```

Each class's docstring is its default message.
"""

from __future__ import annotations

import reprlib

__all__ = [
    "AbortTask",
    "ActorsError",
    "ChildStartError",
    "NodeStopped",
    "StoreError",
    "TaskCancelled",
    "TaskFailed",
    "TaskNotFound",
    "Timeout",
    "UnknownWorker",
    "ValidationError",
    "as_actors_error",
]


_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3  # how a value too deep for repr() is shown in a ValidationError


class ActorsError(Exception):
    """An error raised by actors."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__class__.__doc__ or "").strip())


class TaskNotFound(ActorsError):
    """No task has this id."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"no task with id {task_id!r}")
        self.task_id = task_id


class ValidationError(ActorsError, ValueError):
    """The input was refused; nothing was stored."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        try:
            shown = repr(value)
        except Exception:  # too deep to show (RecursionError), or a __repr__ that raises
            shown = _SHORT.repr(value) if type(value) in (dict, list, tuple) else f"<{type(value).__name__} object>"
        if len(shown) > 200:
            shown = shown[:197] + "..."
        super().__init__(f"{field}={shown}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class UnknownWorker(ActorsError):
    """No task worker is registered under this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no task worker registered under the name {name!r}")
        self.name = name


class TaskFailed(ActorsError):
    """The task failed and will not be retried."""

    def __init__(self, task_id: str, error: str | None, attempts: int) -> None:
        super().__init__(f"task {task_id} failed after {attempts} attempt(s): {error}")
        self.task_id = task_id
        self.error = error
        self.attempts = attempts


class TaskCancelled(ActorsError):
    """The task was cancelled or deleted before it finished."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} was cancelled")
        self.task_id = task_id


class StoreError(ActorsError):
    """The task store cannot be opened or used."""


class Timeout(ActorsError, TimeoutError):
    """A bounded wait ran out of time."""


class ChildStartError(ActorsError, RuntimeError):
    """The executor's child process could not be started."""


class NodeStopped(ActorsError):
    """The node is stopped: it takes no more calls.

    Attributes:
        reason: why (``stop()`` was called, or what made the node stop itself).
        health: the node's last ``stats()["health"]`` when it stopped itself, else None.
    """

    def __init__(self, reason: str = "the node was stopped", health: dict[str, object] | None = None) -> None:
        super().__init__(f"node stopped: {reason}")
        self.reason = reason
        self.health = health


#: Top-level modules whose exceptions mean store trouble (named, never imported here).
_STORE_MODULES = ("sqlite3", "psycopg", "psycopg2", "psycopg_pool", "_sqlite3")


class AbortTask(ActorsError):
    """The task was aborted by its own code: it fails now, with no retry.

    Raise it from ``execute`` (or ``init``, or a middleware): ``raise actors.AbortTask("reason")``.
    The attempt ends ``Raised("AbortTask", reason)`` marked final, so the task is FAILED whatever
    its retry policy, and ``catch_error`` is not asked (Trigger.dev ``AbortTaskRunError``).
    """


def as_actors_error(exc: BaseException) -> ActorsError:
    """``exc`` as an error of this tree: itself if it is one; ``StoreError`` for a database
    driver's error or an ``OSError``; else ``ActorsError`` with the original type and text."""
    if isinstance(exc, ActorsError):
        return exc
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in _STORE_MODULES:
        return StoreError(text)
    return ActorsError(text)
