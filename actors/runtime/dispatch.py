"""Dispatch: claimed work on its way from the supervisor to the worker slots, in batches.

Two forms behind one :class:`Dispatcher` protocol, picked per node (``SupervisorConfig.dispatch``,
the ``ACTORS_DISPATCH`` environment variable: ``direct`` by default, ``actor``):

- :class:`DirectDispatch` — the :class:`~actors.runtime.pool.Pool` as a plain object inside the
  supervisor: a claim goes to a worker's executor from the supervisor's own thread.
- :class:`ActorDispatch` — the design card's shape: a priority-queue actor
  (:class:`QueueActor`, pykka) owns the same pool and feeds the worker slots. Every message
  on the way carries a batch: one :class:`~actors.messages.Enqueue` per claim (never per
  task), carrying too the attempt ends recorded since the last one (one per burst of ends:
  the workers that have room again). The actor hands out only once its inbox is empty (a
  ``HandOut`` to itself otherwise), so while it is busy claims accumulate and go out together.

Either way each worker is bounded by an :class:`actors.Semaphore` of ``max_batch`` permits
(the jobs it holds), and the pool's rules decide who gets what (idlest first, fair shares,
offered more once half empty). A refused batch (the executor stopped or broke) retires the
worker and goes back through ``refused(jobs)`` (the actor sends ``Refused``). ``stats()``
counts the average batch per message (or call) at each hop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pykka

from ..messages import (
    AddWorker,
    Dispatch,
    Enqueue,
    GetDispatch,
    HandOut,
    Job,
    Refused,
    RetireWorker,
    TakeAll,
    Withdraw,
    Work,
)
from .children import WorkerSlot
from .pool import Pool

__all__ = ["DISPATCH_MODES", "ActorDispatch", "DirectDispatch", "Dispatcher", "Hop", "QueueActor"]

log = logging.getLogger("actors")

DISPATCH_MODES = ("direct", "actor")


@dataclass
class Hop:
    """Items carried over one hop: ``messages`` (or calls) and the ``items`` they held."""

    messages: int = 0
    items: int = 0

    def add(self, items: int) -> None:
        self.messages += 1
        self.items += items

    def as_dict(self) -> dict[str, float]:
        return {"messages": self.messages, "items": self.items,
                "average": round(self.items / self.messages, 2) if self.messages else 0.0}


class Dispatcher(Protocol):
    """Claimed work to the workers, as the supervisor drives it (from its own thread)."""

    def add_worker(self, key: int, slot: WorkerSlot) -> None:
        """Worker ``key`` joins (or, replaced, rejoins) holding nothing."""
        ...

    def put(self, items: list[Work]) -> None:
        """One claim's worth of work (and the ends noted since the last call)."""
        ...

    def ended(self, ends: list[tuple[str, str]]) -> None:
        """A burst of attempt ends ``(task id, token)``: their workers have room (see :meth:`hand_out`)."""
        ...

    def hand_out(self) -> None:
        """After a burst of ends: give waiting work to the workers that have room."""
        ...

    def retire(self, key: int) -> list[str]:
        """Worker ``key`` takes no more work; the ids of the tasks it held."""
        ...

    def withdraw(self, task_id: str) -> tuple[bool, int | None]:
        """Take ``task_id`` out if it waits: ``(withdrawn, key of the worker holding it or None)``."""
        ...

    def take_all(self) -> list[Work]:
        """Empty the queues (on shutdown): the work that waited."""
        ...

    def holding(self) -> dict[int, int]:
        """Jobs in hand per worker key."""
        ...

    def stats(self) -> dict[str, Any]:
        """The mode and the average batch per message at each hop."""
        ...

    def stop(self) -> None: ...


class DirectDispatch:
    """The pool as a plain object: work goes out from the caller's thread (see the module doc).

    Args:
        max_batch: most jobs one worker holds at once.
        refused: ``refused(jobs)``: a worker's executor refused them (it is retired already).
    """

    mode = "direct"

    def __init__(self, max_batch: int, refused: Callable[[list[Job]], None]) -> None:
        self._pool: Pool[int] = Pool(self._send, max_batch)
        self._slots: dict[int, WorkerSlot] = {}
        self._refused = refused
        self.hops = {"claims": Hop(), "ends": Hop(), "handouts": Hop()}

    def add_worker(self, key: int, slot: WorkerSlot) -> None:
        known = key in self._slots
        self._slots[key] = slot
        if known:
            self._pool.revive(key)
        else:
            self._pool.add_worker(key, slot.kind)

    def put(self, items: list[Work], *, hand_out: bool = True) -> None:
        if items:
            self.hops["claims"].add(len(items))
            self._pool.put(items, hand_out=hand_out)

    def ended(self, ends: Sequence[tuple[str, str]]) -> None:
        if ends:
            self.hops["ends"].add(len(ends))
        for task_id, token in ends:
            self._pool.ended(task_id, token)

    def hand_out(self) -> None:
        self._pool.hand_out()

    def retire(self, key: int) -> list[str]:
        return self._pool.retire(key)

    def withdraw(self, task_id: str) -> tuple[bool, int | None]:
        if self._pool.withdraw(task_id) is not None:
            return True, None
        return False, self._pool.holder(task_id)

    def take_all(self) -> list[Work]:
        return self._pool.take_all()

    def holding(self) -> dict[int, int]:
        return self._pool.holding()

    def stats(self) -> dict[str, Any]:
        return {"mode": self.mode, "hops": {name: hop.as_dict() for name, hop in self.hops.items()}}

    def stop(self) -> None:
        return None

    def _send(self, key: int, items: list[Work]) -> None:
        """Hand a batch to worker ``key``: straight to its executor when that only queues, else
        as a ``Dispatch`` to its actor. An executor that refuses retires the worker."""
        self.hops["handouts"].add(len(items))
        slot = self._slots[key]
        if slot.direct is None:
            slot.ref.tell(Dispatch(items))
            return
        try:
            slot.direct.submit([work.job for work in items], {work.job.task.name: work.execute for work in items})
        except Exception:  # its executor stopped (at interpreter exit) or broke: never started, give back
            log.exception("worker %d refused %d job(s); it gets no more work, the jobs go back to the store",
                          key, len(items))
            self._pool.retire(key)
            self._refused([work.job for work in items])


class QueueActor(pykka.ThreadingActor):
    """The priority-queue actor: a :class:`DirectDispatch` behind an inbox (see the module doc).

    Args:
        max_batch: most jobs one worker holds at once.
        supervisor: the supervisor's ref (told ``Refused``; never asked, so no deadlock).
    """

    use_daemon_thread = True

    def __init__(self, max_batch: int, supervisor: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self._supervisor = supervisor
        self._core = DirectDispatch(max_batch, self._refused)
        self._hand_out_pending = False
        self.messages = Hop()  # Enqueue messages, and the claims + ends each carried

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Enqueue):
            self.messages.add(len(message.items) + len(message.ended))
            self._core.ended(message.ended)
            self._core.put(list(message.items), hand_out=False)
            self._hand_out_soon()
        elif isinstance(message, HandOut):
            self._hand_out_pending = False
            self._core.hand_out()
        elif isinstance(message, AddWorker):
            self._core.add_worker(message.key, WorkerSlot(message.kind, message.ref, message.direct))
        elif isinstance(message, RetireWorker):
            return self._core.retire(message.key)
        elif isinstance(message, Withdraw):
            return self._core.withdraw(message.task_id)
        elif isinstance(message, TakeAll):
            return self._core.take_all()
        elif isinstance(message, GetDispatch):
            stats = self._core.stats()
            stats["mode"] = "actor"
            stats["hops"]["messages"] = self.messages.as_dict()
            return self._core.holding(), stats
        else:
            raise TypeError(f"queue actor: unexpected message {message!r}")
        return None

    def _hand_out_soon(self) -> None:
        """Hand out now if nothing else waits in the inbox, else once (after what waits)."""
        if self._hand_out_pending:
            return
        if self.actor_inbox.empty():
            self._core.hand_out()
            return
        self._hand_out_pending = True
        self.actor_ref.tell(HandOut())

    def _refused(self, jobs: list[Job]) -> None:
        try:
            self._supervisor.tell(Refused(tuple(jobs)))
        except pykka.ActorDeadError:
            log.debug("%d refused job(s) after the supervisor stopped", len(jobs))


class ActorDispatch:
    """The supervisor's side of the :class:`QueueActor` (which it starts): told, or asked when
    the supervisor needs an answer (cancel, retire, shutdown, stats; never per task)."""

    mode = "actor"

    def __init__(self, max_batch: int, supervisor: pykka.ActorRef[Any]) -> None:
        self._ref = QueueActor.start(max_batch, supervisor)
        self._ended: list[tuple[str, str]] = []

    def add_worker(self, key: int, slot: WorkerSlot) -> None:
        self._ref.tell(AddWorker(key, slot.kind, slot.ref, slot.direct))

    def put(self, items: list[Work]) -> None:
        if items:
            self._ref.tell(Enqueue(tuple(items), tuple(self._ended)))
            self._ended = []

    def ended(self, ends: list[tuple[str, str]]) -> None:
        self._ended.extend(ends)  # sent with the next claim, or by hand_out

    def hand_out(self) -> None:
        if self._ended:
            self._ref.tell(Enqueue((), tuple(self._ended)))
            self._ended = []

    def retire(self, key: int) -> list[str]:
        held: list[str] = self._ask(RetireWorker(key))
        return held

    def withdraw(self, task_id: str) -> tuple[bool, int | None]:
        answer: tuple[bool, int | None] = self._ask(Withdraw(task_id))
        return answer

    def take_all(self) -> list[Work]:
        taken: list[Work] = self._ask(TakeAll())
        return taken

    def holding(self) -> dict[int, int]:
        return self._ask_stats()[0]

    def stats(self) -> dict[str, Any]:
        return self._ask_stats()[1]

    def _ask_stats(self) -> tuple[dict[int, int], dict[str, Any]]:
        answer: tuple[dict[int, int], dict[str, Any]] = self._ask(GetDispatch())
        return answer

    def _ask(self, message: Any) -> Any:
        return self._ref.ask(message, block=True)

    def stop(self) -> None:
        """Stop the queue actor and wait for it (it asks nobody, so this cannot deadlock)."""
        self._ref.stop(block=True, timeout=5.0)
