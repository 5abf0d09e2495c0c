"""The worker pool as the supervisor sees it: claimed work waiting, and what each worker holds.

Claimed work waits here in priority order (:class:`actors.PriorityQueue`, three
FIFO tiers; one queue per kind of worker, ``process`` / ``thread``) until a worker
of its kind has room. ``Pool`` is a plain object the supervisor actor owns; it
sends each worker its batch through ``send`` (the supervisor tells the worker
actor) and learns that a job ended from the supervisor, which receives every
attempt end anyway. So a task crosses no thread between its claim and its
worker, and a worker sends no message to ask for more.

The rules (they were the dispatch queue actor's, when it was one):

- a worker takes at most ``max_batch`` jobs (an :class:`actors.Semaphore` of
  ``max_batch`` permits per worker: a job handed out takes one, its end gives it
  back), and is offered more only once it holds no more than half of that (jobs
  then go in batches, not one by one);
- the idlest worker goes first (fewest jobs in hand; among equals, the one that
  got work the longest ago), so a short task does not wait behind a long one in
  a busy worker's child while another worker has nothing to do;
- a worker gets no more than its fair share of what waits (spread over the
  workers that have room), and a task claimed later with a higher priority
  overtakes everything still waiting here.

Example:
    >>> sent = []
    >>> pool = Pool(lambda worker, items: sent.append((worker, len(items))), max_batch=4)
    >>> pool.add_worker("a", "process")
    >>> pool.put([])  # nothing to send
    >>> sent
    []
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..batch._pqueue import PriorityQueue
from ..batch._semaphore import Semaphore
from ..messages import Work

__all__ = ["Pool"]

K = TypeVar("K", bound=Hashable)


def _priority(work: Work) -> str:
    return work.job.task.priority


@dataclass(eq=False)
class _Worker(Generic[K]):
    key: K
    kind: str
    permits: Semaphore  # one per job it may still take (max_batch in all)
    held: dict[str, str] = field(default_factory=dict)  # task id -> token of the jobs it holds
    served: int = 0  # when it last got work (a counter): the longest idle goes first among equals
    retired: bool = False  # takes no more work


class Pool(Generic[K]):
    """Ready work per kind and the jobs each worker holds.

    Args:
        send: ``send(worker_key, items)`` hands a batch to a worker (the items run in order).
        max_batch: most jobs one worker holds at once.
    """

    def __init__(self, send: Callable[[K, list[Work]], None], max_batch: int = 16) -> None:
        self._send = send
        self._max_batch = max(1, max_batch)
        self._low_water = self._max_batch // 2
        self._queues: dict[str, PriorityQueue[Work]] = {}
        self._workers: dict[str, list[_Worker[K]]] = {}
        self._where: dict[str, _Worker[K]] = {}  # task id -> the worker holding it
        self._clock = itertools.count(1)

    def add_worker(self, key: K, kind: str) -> None:
        """A worker of ``kind`` joins, holding nothing."""
        self._queue(kind)
        self._workers[kind].append(_Worker(key, kind, Semaphore(self._max_batch)))

    def _queue(self, kind: str) -> PriorityQueue[Work]:
        queue = self._queues.get(kind)
        if queue is None:
            queue = self._queues[kind] = PriorityQueue(get_priority=_priority)
            self._workers[kind] = []
        return queue

    # --- work in --------------------------------------------------------------------

    def put(self, items: Iterable[Work], *, hand_out: bool = True) -> None:
        """Queue claimed work (each item's ``kind`` picks its queue) and hand out what fits
        (``hand_out=False``: later, with :meth:`hand_out`)."""
        kinds = set()
        for work in items:
            self._queue(work.kind).enqueue(work)
            kinds.add(work.kind)
        for kind in kinds if hand_out else ():
            self._hand_out(kind)

    def ended(self, task_id: str, token: str) -> None:
        """The worker holding ``(task_id, token)`` is done with it (any outcome); it may take more.
        Unknown pairs (a stale token, a job handed back) are ignored. Call :meth:`hand_out`
        after a batch of ends."""
        worker = self._where.get(task_id)
        if worker is not None and worker.held.get(task_id) == token:
            del worker.held[task_id]
            del self._where[task_id]
            worker.permits.release()

    def hand_out(self) -> None:
        """Give waiting work to the workers that have room (after :meth:`ended` calls)."""
        for kind in self._queues:
            self._hand_out(kind)

    def _hand_out(self, kind: str) -> None:
        queue = self._queues[kind]
        while len(queue):
            room = [w for w in self._workers[kind] if len(w.held) <= self._low_water and not w.retired]
            if not room:
                return
            worker = min(room, key=lambda w: (len(w.held), w.served))
            share = max(1, math.ceil(len(queue) / len(room)))
            batch = queue.dequeue_batch(min(worker.permits.available_permits, share))
            worker.served = next(self._clock)
            for work in batch:
                taken = worker.permits.acquire(timeout=0)
                assert taken, "a worker was handed more than max_batch jobs"
                worker.held[work.job.task.id] = work.job.token
                self._where[work.job.task.id] = worker
            self._send(worker.key, batch)

    def retire(self, key: K) -> list[str]:
        """Worker ``key`` takes no more work (it cannot): returns the ids of the jobs it held,
        which the pool forgets."""
        for workers in self._workers.values():
            for worker in workers:
                if worker.key == key:
                    worker.retired = True
                    held, worker.held = list(worker.held), {}
                    worker.permits = Semaphore(self._max_batch)
                    for task_id in held:
                        self._where.pop(task_id, None)
                    return held
        return []

    def revive(self, key: K) -> None:
        """Worker ``key`` (retired) was replaced: it takes work again, holding nothing."""
        for workers in self._workers.values():
            for worker in workers:
                if worker.key == key:
                    worker.retired = False
                    worker.held = {}
                    worker.permits = Semaphore(self._max_batch)
        self.hand_out()

    # --- work out -------------------------------------------------------------------

    def withdraw(self, task_id: str) -> Work | None:
        """Take a task that waits here (not handed to a worker yet) out of the pool."""
        for queue in self._queues.values():
            found = queue.drain(lambda work: work.job.task.id == task_id)
            if found:
                return found[0]
        return None

    def holder(self, task_id: str) -> K | None:
        """The key of the worker holding ``task_id`` (None: no worker has it)."""
        worker = self._where.get(task_id)
        return None if worker is None else worker.key

    def take_all(self) -> list[Work]:
        """Empty every queue (on shutdown): the work that waits, in priority order per kind."""
        taken: list[Work] = []
        for queue in self._queues.values():
            taken.extend(queue.drain())
        return taken

    def waiting(self) -> int:
        """Jobs claimed and waiting for a worker."""
        return sum(len(queue) for queue in self._queues.values())

    def holding(self) -> dict[K, int]:
        """Jobs in hand per worker key."""
        return {w.key: len(w.held) for workers in self._workers.values() for w in workers}
