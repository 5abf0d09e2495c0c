"""The dispatch queue actor: claimed work waits here, in priority order, for a worker.

It wraps :class:`actors.PriorityQueue` (three FIFO tiers) — one queue per kind of
worker (``process`` / ``thread``). Workers pull: each sends ``Demand(n)`` when it
has room and gets a ``Dispatch`` with at most ``n`` jobs, never more than its
fair share of the backlog, so a backlog is spread over the idle workers and a
task that arrives later with a higher priority overtakes everything still here.
Work goes to the idlest waiting worker first (a worker renews its demand when it
runs out of jobs), so a short task does not wait behind a long one in a busy
worker's child while another worker has nothing to do.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import pykka

from ._pqueue import PriorityQueue
from .messages import Demand, Dispatch, Enqueue, TakeAll, Withdraw, Work

__all__ = ["DispatchActor"]


def _priority(work: Work) -> str:
    return work.job.task.priority


class DispatchActor(pykka.ThreadingActor):
    """Holds claimed work until a worker of the right kind asks for it."""

    def __init__(self) -> None:
        super().__init__()
        self._queues: dict[str, PriorityQueue[Work]] = {}
        self._waiting: dict[str, deque[tuple[Any, int]]] = {}
        self._closed = False

    def _queue(self, kind: str) -> PriorityQueue[Work]:
        queue = self._queues.get(kind)
        if queue is None:
            queue = self._queues[kind] = PriorityQueue(get_priority=_priority)
            self._waiting[kind] = deque()
        return queue

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Enqueue):
            kinds = set()
            for work in message.items:
                self._queue(work.kind).enqueue(work)
                kinds.add(work.kind)
            for kind in kinds:
                self._dispatch(kind)
        elif isinstance(message, Demand):
            if not self._closed:
                self._queue(message.kind)
                waiting = self._waiting[message.kind]
                for index, (worker, _) in enumerate(waiting):
                    if worker.actor_urn == message.worker.actor_urn:  # a refresh: it went idle
                        waiting[index] = (worker, message.n)
                        break
                else:
                    waiting.append((message.worker, message.n))
                self._dispatch(message.kind)
        elif isinstance(message, Withdraw):
            for queue in self._queues.values():
                found = queue.drain(lambda work: work.job.task.id == message.task_id)
                if found:
                    return found[0]
            return None
        elif isinstance(message, TakeAll):
            self._closed = True
            taken: list[Work] = []
            for queue in self._queues.values():
                taken.extend(queue.drain())
            return taken
        return None

    def _dispatch(self, kind: str) -> None:
        queue = self._queues[kind]
        waiting = self._waiting[kind]
        while waiting and len(queue) and not self._closed:
            # the idlest worker first (the most room: nothing in hand), the longest waiting
            # among equals, so a task never queues behind a busy worker's job while another idles
            index = max(range(len(waiting)), key=lambda i: waiting[i][1])
            worker, n = waiting[index]
            del waiting[index]
            share = max(1, math.ceil(len(queue) / (len(waiting) + 1)))
            batch = queue.dequeue_batch(min(n, share))
            worker.tell(Dispatch(batch))
