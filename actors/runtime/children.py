"""The supervisor's children as it sees them: its worker actors and its scheduler.

The supervisor is given both at construction, as protocols (no callable travels in a
message): a :class:`Workers` starts the worker actors when the node is wired
(``Attach``) and replaces one that died; a :class:`Waker` (the scheduler thread) is
woken at the next due time and told when a tick it sent was taken.

:class:`Crew` is the node's ``Workers``: one worker actor per slot, each with the
factory of its executor. :class:`FixedWorkers` hands over worker refs that exist
already (tests, stand-ins); it replaces none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pykka

from ..errors import ChildStartError
from ..execution.base import ExecutorFactory
from ..messages import Job
from .worker_actor import WorkerActor

__all__ = ["Crew", "FixedWorkers", "Submitter", "Waker", "WorkerSlot", "Workers", "worker_pids"]


class Submitter(Protocol):
    """An executor whose ``submit`` only queues (``Executor.queues_only``): the supervisor
    hands it jobs from its own thread, with no message and no thread hand-off per batch."""

    def submit(self, jobs: Sequence[Job], functions: Mapping[str, Callable[..., Any]]) -> None: ...


@dataclass(frozen=True)
class WorkerSlot:
    """One worker actor as the supervisor sees it.

    ``direct``: its executor when that only queues (jobs go to ``direct.submit``); None:
    jobs go to the actor as ``Dispatch`` messages.
    """

    kind: str
    ref: Any
    direct: Submitter | None = None


class Workers(Protocol):
    """The supervisor's worker actors (started from its thread, when it is attached)."""

    def start(self, supervisor: pykka.ActorRef[Any]) -> list[WorkerSlot]:
        """Start every worker actor; their slots, in key order.

        Raises:
            ChildStartError: a worker could not start its execution slot.
        """
        ...

    def restart(self, key: int, supervisor: pykka.ActorRef[Any]) -> WorkerSlot | None:
        """Start a replacement for worker ``key`` (it died); None: it cannot be replaced."""
        ...


class Waker(Protocol):
    """The scheduler as the supervisor drives it (``actors.runtime.scheduler.Scheduler``)."""

    def wake_at(self, when: float) -> None:
        """Tick no later than ``when``."""
        ...

    def taken(self) -> None:
        """The supervisor started handling the last scheduled tick."""
        ...

    def restart(self) -> None:
        """Start a new thread after the last one died."""
        ...

    def stop(self) -> None: ...

    @property
    def alive(self) -> bool: ...


class Crew:
    """The node's worker actors: one per :meth:`add`, started by the supervisor.

    ``refs`` is the live list of their refs (a replaced worker's new ref takes its
    place): the handle reads it for ``stop`` and ``worker_pids``.
    """

    def __init__(self) -> None:
        self._specs: list[tuple[str, ExecutorFactory]] = []
        self.refs: list[pykka.ActorRef[Any]] = []

    def add(self, kind: str, factory: ExecutorFactory, count: int = 1) -> None:
        """``count`` more workers of ``kind`` (``"process"`` / ``"thread"``), each with an
        executor built by ``factory``."""
        self._specs += [(kind, factory)] * count

    def start(self, supervisor: pykka.ActorRef[Any]) -> list[WorkerSlot]:
        # every actor first, then their slots: they start their executors in parallel
        self.refs[:] = [WorkerActor.start(kind, factory, supervisor) for kind, factory in self._specs]
        return [self._slot(key) for key in range(len(self._specs))]

    def restart(self, key: int, supervisor: pykka.ActorRef[Any]) -> WorkerSlot:
        kind, factory = self._specs[key]
        self.refs[key] = WorkerActor.start(kind, factory, supervisor)
        return self._slot(key)

    def stop(self) -> None:
        """Stop every worker actor without waiting (a start that failed)."""
        for ref in self.refs:
            ref.stop(block=False)

    def _slot(self, key: int) -> WorkerSlot:
        kind, ref = self._specs[key][0], self.refs[key]
        try:
            direct: Submitter | None = ref.proxy().direct.get()
        except pykka.ActorDeadError:
            raise ChildStartError(f"a {kind} worker could not start its execution slot "
                                  "(the log has the cause)") from None
        return WorkerSlot(kind, ref, direct)


class FixedWorkers:
    """Workers that exist already (test stand-ins): handed over as they are, never replaced."""

    def __init__(self, slots: Sequence[WorkerSlot] = ()) -> None:
        self._slots = list(slots)

    def start(self, supervisor: pykka.ActorRef[Any]) -> list[WorkerSlot]:
        return list(self._slots)

    def restart(self, key: int, supervisor: pykka.ActorRef[Any]) -> WorkerSlot | None:
        return None


def worker_pids(refs: Sequence[pykka.ActorRef[Any]]) -> list[int]:
    """Process ids of the children of the worker actors ``refs`` (dead ones skipped)."""
    pids = []
    for ref in list(refs):
        try:
            pid = ref.proxy().pid.get()
        except pykka.ActorDeadError:
            continue  # dead: being replaced
        if pid is not None:
            pids.append(pid)
    return pids
