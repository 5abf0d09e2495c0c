"""The supervisor's pool: claimed work goes to the idlest worker, in priority order, in fair batches."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import pytest

from actors.messages import Job, Work
from actors.models import Task
from actors.runtime.pool import Pool


def noop(ctx: Any, options: dict[str, Any], task: Task) -> None:
    return None


def work(label: str, priority: str = "normal", kind: str = "process") -> Work:
    return Work(Job(Task(id=label, name="T", priority=priority), f"token-{label}", 1, None), noop, kind)


class Sent:
    """Records what the pool hands each worker, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[Hashable, list[str]]] = []

    def __call__(self, key: Hashable, items: list[Work]) -> None:
        self.log.append((key, [w.job.task.id for w in items]))

    def of(self, key: Hashable) -> list[str]:
        return [label for k, labels in self.log if k == key for label in labels]


def pool_of(*keys: str, max_batch: int = 16) -> tuple[Pool[str], Sent]:
    sent = Sent()
    pool = Pool(sent, max_batch=max_batch)
    for key in keys:
        pool.add_worker(key, "process")
    return pool, sent


def test_work_goes_to_the_idle_worker_not_the_busy_one() -> None:
    pool, sent = pool_of("busy", "idle")
    pool.put([work("long")])  # the first worker takes it and is busy
    pool.put([work("short")])
    assert (sent.of("busy"), sent.of("idle")) == (["long"], ["short"])


def test_among_idle_workers_the_one_served_longest_ago_goes_first() -> None:
    pool, sent = pool_of("a", "b")
    pool.put([work("one")])
    pool.put([work("two")])
    pool.ended("one", "token-one")
    pool.ended("two", "token-two")
    pool.put([work("three")])  # both idle again: "a" was served before "b"
    assert sent.log == [("a", ["one"]), ("b", ["two"]), ("a", ["three"])]


def test_a_backlog_is_spread_in_fair_shares_and_capped_by_max_batch() -> None:
    pool, sent = pool_of("a", "b", max_batch=4)
    pool.put([work(str(i)) for i in range(10)])
    assert sent.log == [("a", ["0", "1", "2", "3"]), ("b", ["4", "5", "6", "7"])]
    assert pool.waiting() == 2
    assert pool.holding() == {"a": 4, "b": 4}


def test_a_worker_is_offered_more_only_once_it_holds_half_its_batch_or_less() -> None:
    pool, sent = pool_of("a", max_batch=4)
    pool.put([work(str(i)) for i in range(8)])
    pool.ended("0", "token-0")
    pool.hand_out()
    assert sent.of("a") == ["0", "1", "2", "3"]  # holds 3 > 2: nothing more yet
    pool.ended("1", "token-1")
    pool.hand_out()
    assert sent.of("a") == ["0", "1", "2", "3", "4", "5"]  # held 2: topped up to 4


def test_higher_priority_work_overtakes_what_waits() -> None:
    pool, sent = pool_of("a", max_batch=1)
    pool.put([work("first"), work("low", "low"), work("normal")])
    pool.put([work("high", "high")])
    for label in ("first", "high", "normal"):
        pool.ended(label, f"token-{label}")
        pool.hand_out()
    assert sent.of("a") == ["first", "high", "normal", "low"]


def test_a_stale_token_does_not_free_the_worker() -> None:
    pool, sent = pool_of("a", max_batch=1)
    pool.put([work("x"), work("y")])
    pool.ended("x", "some-older-token")
    pool.hand_out()
    assert sent.of("a") == ["x"]
    assert pool.holder("x") == "a"


def test_each_kind_has_its_own_queue_and_workers() -> None:
    sent = Sent()
    pool: Pool[str] = Pool(sent, max_batch=16)
    pool.add_worker("p", "process")
    pool.add_worker("t", "thread")
    pool.put([work("cpu"), work("agent", kind="thread")])
    assert (sent.of("p"), sent.of("t")) == (["cpu"], ["agent"])


def test_withdraw_and_take_all_only_return_work_no_worker_has() -> None:
    pool, _ = pool_of("a", max_batch=1)
    pool.put([work("running"), work("queued"), work("later")])
    assert pool.withdraw("running") is None
    withdrawn = pool.withdraw("queued")
    assert withdrawn is not None and withdrawn.job.task.id == "queued"
    assert [w.job.task.id for w in pool.take_all()] == ["later"]
    assert pool.holder("running") == "a" and pool.holder("queued") is None


def test_work_of_a_kind_without_workers_waits() -> None:
    pool, sent = pool_of()
    pool.put([work("x")])
    assert sent.log == [] and pool.waiting() == 1


@pytest.mark.parametrize("max_batch", [0, -3])
def test_max_batch_is_at_least_one(max_batch: int) -> None:
    pool, sent = pool_of("a", max_batch=max_batch)
    pool.put([work("x"), work("y")])
    assert sent.log == [("a", ["x"])]


def test_a_retired_worker_gets_no_more_work_and_its_jobs_are_forgotten() -> None:
    pool, sent = pool_of("a", "b", max_batch=1)
    pool.put([work("x")])
    assert pool.retire("a") == ["x"]
    assert pool.holder("x") is None
    pool.put([work("y"), work("z")])
    assert (sent.of("a"), sent.of("b")) == (["x"], ["y"])
    assert pool.waiting() == 1
    assert pool.retire("nobody") == []
