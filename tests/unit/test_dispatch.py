"""The dispatch queue actor (``actors.runtime.dispatch``): batches per message, accumulating while busy."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pykka
import pytest

from actors.messages import Job, Refused, Work
from actors.models import Task
from actors.runtime.children import WorkerSlot
from actors.runtime.dispatch import ActorDispatch, DirectDispatch
from actors.testing import eventually


def noop(ctx: Any, options: dict[str, Any], task: Task) -> None:
    return None


def work(label: str) -> Work:
    return Work(Job(Task(id=label, name="T"), f"token-{label}", 1, None), noop, "process")


class Executor:
    """A stand-in for an executor that only queues: records each batch; may hold the first one."""

    def __init__(self, hold_first: bool = False, refuse: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.go = threading.Event()
        self._hold = hold_first
        self._refuse = refuse

    def submit(self, jobs: Sequence[Job], functions: Mapping[str, Callable[..., Any]]) -> None:
        if self._refuse:
            raise RuntimeError("executor stopped")
        self.batches.append([job.task.id for job in jobs])
        if self._hold:
            self._hold = False
            self.entered.set()
            assert self.go.wait(10)


class Inbox(pykka.ThreadingActor):
    """A stand-in supervisor: keeps what it is told."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[Any] = []

    def on_receive(self, message: Any) -> Any:
        if message == "got":
            return list(self.got)
        self.got.append(message)
        return None


@pytest.fixture
def supervisor() -> Iterator[pykka.ActorRef[Any]]:
    ref = Inbox.start()
    yield ref
    ref.stop()


def test_claims_that_arrive_while_the_queue_actor_is_busy_go_out_as_one_batch(
        supervisor: pykka.ActorRef[Any]) -> None:
    executor = Executor(hold_first=True)
    dispatch = ActorDispatch(16, supervisor)
    try:
        dispatch.add_worker(0, WorkerSlot("process", None, executor))
        dispatch.put([work("first")])
        assert executor.entered.wait(10)  # the actor is inside the first hand-out
        for label in "abcdefgh":
            dispatch.put([work(label)])  # one message per claim, queued behind the busy actor
        executor.go.set()
        eventually(lambda: len(executor.batches) == 2)
        stats = dispatch.stats()
    finally:
        dispatch.stop()
    assert executor.batches == [["first"], list("abcdefgh")]
    assert stats["mode"] == "actor"
    assert stats["hops"]["claims"] == {"messages": 9, "items": 9, "average": 1.0}
    assert stats["hops"]["handouts"] == {"messages": 2, "items": 9, "average": 4.5}


def test_attempt_ends_ride_with_the_next_claim_one_message_per_burst(supervisor: pykka.ActorRef[Any]) -> None:
    executor = Executor()
    dispatch = ActorDispatch(2, supervisor)
    try:
        dispatch.add_worker(0, WorkerSlot("process", None, executor))
        dispatch.put([work("a"), work("b")])  # the worker is full (max_batch 2)
        dispatch.put([work("c"), work("d")])  # these wait
        eventually(lambda: executor.batches == [["a", "b"]])
        dispatch.ended([("a", "token-a"), ("b", "token-b")])  # one burst of ends
        dispatch.hand_out()  # no claim came with them: sent on their own
        eventually(lambda: len(executor.batches) == 2)
        holding, stats = dispatch._ask_stats()
    finally:
        dispatch.stop()
    assert executor.batches == [["a", "b"], ["c", "d"]]
    assert holding == {0: 2}
    assert stats["hops"]["messages"] == {"messages": 3, "items": 6, "average": 2.0}
    assert stats["hops"]["ends"] == {"messages": 1, "items": 2, "average": 2.0}


def test_each_worker_holds_at_most_max_batch_jobs_bounded_by_its_semaphore() -> None:
    executor = Executor()
    dispatch = DirectDispatch(4, refused=lambda jobs: None)
    dispatch.add_worker(0, WorkerSlot("process", None, executor))
    dispatch.put([work(str(i)) for i in range(10)])
    assert executor.batches == [["0", "1", "2", "3"]]
    assert dispatch._pool._workers["process"][0].permits.available_permits == 0
    dispatch.ended([("0", "token-0"), ("1", "token-1")])
    dispatch.hand_out()  # half empty: offered more, up to max_batch again
    assert executor.batches[1:] == [["4", "5"]]


def test_a_refused_batch_retires_the_worker_and_goes_back_to_the_supervisor(
        supervisor: pykka.ActorRef[Any]) -> None:
    dispatch = ActorDispatch(4, supervisor)
    try:
        dispatch.add_worker(0, WorkerSlot("process", None, Executor(refuse=True)))
        dispatch.put([work("a")])
        assert dispatch.holding() == {0: 0}
        dispatch.put([work("b")])  # a retired worker gets no more work: it waits
        assert dispatch.withdraw("b") == (True, None)
    finally:
        dispatch.stop()
    got = supervisor.ask("got")
    assert [type(m) for m in got] == [Refused] and [job.task.id for job in got[0].jobs] == ["a"]


def test_withdraw_retire_and_take_all_answer_from_the_queue_actor(supervisor: pykka.ActorRef[Any]) -> None:
    dispatch = ActorDispatch(1, supervisor)
    executor = Executor()
    try:
        dispatch.add_worker(0, WorkerSlot("process", None, executor))
        dispatch.put([work("a"), work("b"), work("c")])
        eventually(lambda: executor.batches == [["a"]])
        assert dispatch.withdraw("a") == (False, 0)  # handed out: worker 0 holds it
        assert dispatch.withdraw("b") == (True, None)
        assert dispatch.retire(0) == ["a"]
        assert [w.job.task.id for w in dispatch.take_all()] == ["c"]
    finally:
        dispatch.stop()
    assert pykka.ActorRegistry.get_by_class_name("QueueActor") == []
