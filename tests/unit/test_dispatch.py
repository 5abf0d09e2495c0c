"""The dispatch queue hands work to the idlest waiting worker first."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pykka
import pytest

from actors.execution.inline import InlineExecutor
from actors.messages import Demand, Dispatch, Enqueue, Job, Work
from actors.models import Task
from actors.priority_queue import DispatchActor
from actors.worker import WorkerActor


class Recorder(pykka.ThreadingActor):
    """Stands in for a worker actor: keeps the ids of what it is dispatched."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[str] = []
        self.arrived = threading.Event()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Dispatch):
            self.got += [work.job.task.id for work in message.items]
            self.arrived.set()
        return None


def noop(ctx: Any, options: dict[str, Any], task: Task) -> None:
    return None


def work(label: str) -> Work:
    return Work(Job(Task(id=label, name="T"), "token", 1, None), noop, "process")


@pytest.fixture
def dispatch() -> Iterator[pykka.ActorRef[Any]]:
    ref = DispatchActor.start()
    yield ref
    pykka.ActorRegistry.stop_all()


def got(ref: pykka.ActorRef[Any]) -> list[str]:
    result: list[str] = ref.proxy().got.get()
    return result


def test_work_goes_to_the_idle_worker_not_the_one_that_asked_first(dispatch: pykka.ActorRef[Any]) -> None:
    busy, idle = Recorder.start(), Recorder.start()
    dispatch.tell(Demand("process", busy, 15))  # it holds a (long) job: room for 15 more
    dispatch.tell(Demand("process", idle, 16))  # it holds nothing
    dispatch.ask(Enqueue([work("short")]))
    assert (got(busy), got(idle)) == ([], ["short"])


def test_a_renewed_demand_replaces_the_standing_one(dispatch: pykka.ActorRef[Any]) -> None:
    a, b = Recorder.start(), Recorder.start()
    dispatch.tell(Demand("process", a, 15))
    dispatch.tell(Demand("process", b, 15))
    dispatch.tell(Demand("process", a, 16))  # a ran out of jobs: it says so again
    for label in ("one", "two", "three"):
        dispatch.ask(Enqueue([work(label)]))
    # one demand each, the idle one first; "three" waits for the next demand
    assert (got(a), got(b)) == (["one"], ["two"])


def test_a_worker_that_runs_out_of_jobs_renews_its_demand_as_idle() -> None:
    demands: list[int] = []

    class Queue(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> Any:
            if isinstance(message, Demand):
                demands.append(message.n)
            return None

    queue = Queue.start()
    try:
        worker = WorkerActor.start("process", InlineExecutor, queue, queue, max_batch=4)
        # one job in hand: it demands 3 more; the job runs (inline) and its end comes back
        # to the worker as JobEnded: none in hand, so it demands 4, as an idle worker
        worker.ask(Dispatch([work(str(uuid.uuid4()))]))
        worker.ask(None)  # the JobEnded the job's end queued has been handled
        queue.ask(None)  # and what the worker sent
        assert demands == [4, 3, 4]
    finally:
        pykka.ActorRegistry.stop_all()
