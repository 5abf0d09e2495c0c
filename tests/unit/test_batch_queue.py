"""BatchQueue (in memory): ELIZA_SPEC §6 — drain, process_batch fallback, hooks, dispose."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from actors.batch import BatchQueue, DrainStats, ItemOutcome, PriorityQueue, RetryPolicy
from actors.clock import ManualClock
from actors.errors import ValidationError

WAIT = 5.0


@dataclass
class Item:
    id: str
    priority: str = "normal"


Report = tuple[str, str, dict[str, Any]]


def make(process: Any = None, reports: list[Report] | None = None, **options: Any) -> BatchQueue[Item]:
    def reporter(where: str, error: BaseException, context: dict[str, Any]) -> None:
        if reports is not None:
            reports.append((where, str(error), context))

    options.setdefault("batch_size", 10)
    options.setdefault("drain_interval", 0.1)
    options.setdefault("sleep", lambda seconds: None)
    return BatchQueue(
        "TEST_DRAIN",
        process or (lambda item: None),
        get_priority=lambda item: item.priority,
        reporter=reporter,
        **options,
    )


def recorder() -> tuple[Any, list[str]]:
    seen: list[str] = []
    return (lambda item: seen.append(item.id)), seen


# -- options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "options"),
    [
        ("name", {"name": ""}),
        ("name", {"name": "   "}),
        ("name", {"name": None}),
        ("batch_size", {"batch_size": float("nan")}),
        ("batch_size", {"batch_size": float("inf")}),
        ("batch_size", {"batch_size": "10"}),
        ("batch_size", {"batch_size": True}),
        ("drain_interval", {"drain_interval": 0}),
        ("drain_interval", {"drain_interval": -1}),
        ("drain_interval", {"drain_interval": float("nan")}),
        ("drain_interval", {"drain_interval": float("inf")}),
        ("drain_interval", {"drain_interval": "1"}),
        ("idle_drain_interval", {"idle_drain_interval": 0}),
        ("idle_drain_interval", {"idle_drain_interval": float("inf")}),
    ],
)
def test_invalid_options_are_refused(field: str, options: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {"name": "Q", "batch_size": 1, "drain_interval": 1.0, **options}
    name = kwargs.pop("name")
    with pytest.raises(ValidationError) as err:
        BatchQueue(name, lambda item: None, **kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(("drain", "idle"), [(0.1, 5.0), (1.0, 5.0), (2.0, 10.0), (30, 150.0)])
def test_idle_interval_defaults_to_max_5s_or_5x(drain: float, idle: float) -> None:
    q = make(drain_interval=drain)
    assert q.drain_interval == drain
    assert q.idle_drain_interval == idle


def test_explicit_idle_interval_and_the_names_are_kept() -> None:
    q = make(drain_interval=0.5, idle_drain_interval=2)
    assert (q.name, q.drain_interval, q.idle_drain_interval) == ("TEST_DRAIN", 0.5, 2.0)


@pytest.mark.parametrize(("given", "used"), [(0, 1), (-4, 1), (0.5, 1), (2.7, 2), (3, 3)])
def test_batch_size_is_at_least_one(given: float, used: int) -> None:
    process, seen = recorder()
    q = make(process, batch_size=given)
    assert q.batch_size == used
    for i in range(4):
        q.enqueue(Item(str(i)))
    assert q.drain() == min(used, 4)
    assert seen == [str(i) for i in range(min(used, 4))]


# -- drain ---------------------------------------------------------------------------


def test_draining_an_empty_queue_does_nothing_and_fires_no_hook() -> None:
    process, seen = recorder()
    hooks: list[object] = []
    q = make(process, on_drain_batch_outcomes=hooks.append, on_drain_complete=hooks.append)
    assert q.drain() == 0
    assert seen == [] and hooks == []


def test_drain_takes_one_batch_high_first_and_returns_the_count() -> None:
    process, seen = recorder()
    q = make(process, batch_size=2)
    q.enqueue(Item("low", "low"))
    q.enqueue(Item("normal"))
    q.enqueue(Item("urgent", "high"))
    assert q.drain() == 2
    assert sorted(seen) == ["normal", "urgent"]
    assert q.stats() == {"high": 0, "normal": 0, "low": 1, "total": 1}
    assert q.drain() == 1
    assert q.drain() == 0


def test_drain_runs_items_under_the_processor_limits() -> None:
    order: list[str] = []
    q = make(lambda item: order.append(item.id), max_parallel=1)
    for name in ("a", "b", "c"):
        q.enqueue(Item(name))
    q.enqueue(Item("h", "high"))
    q.drain()
    assert order == ["h", "a", "b", "c"]


def test_hooks_see_outcomes_then_stats() -> None:
    clock = ManualClock(100.0)
    calls: list[object] = []

    def process(item: Item) -> None:
        clock.advance(1.5)
        if item.id == "bad":
            raise ValueError("item blew up")

    q = make(
        process,
        batch_size=2,
        max_parallel=1,
        should_retry=lambda *args: False,
        clock=clock,
        on_drain_batch_outcomes=lambda outcomes: calls.append([(o.item.id, o.success) for o in outcomes]),
        on_drain_complete=calls.append,
    )
    for name in ("good", "bad", "later"):
        q.enqueue(Item(name))
    assert q.drain() == 2
    assert calls == [[("good", True), ("bad", False)], DrainStats(batch_size=2, remaining=1, duration=3.0)]
    assert q.drain() == 1
    assert calls[-1] == DrainStats(batch_size=1, remaining=0, duration=1.5)


def test_retries_and_on_exhausted_apply_on_the_default_path() -> None:
    delays: list[float] = []
    exhausted: list[str] = []
    attempts: list[str] = []

    def process(item: Item) -> None:
        attempts.append(item.id)
        raise RuntimeError("down")

    q = make(
        process,
        max_retries_after_failure=2,
        sleep=delays.append,
        on_exhausted=lambda item, error: exhausted.append(item.id),
    )
    q.enqueue(Item("x"))
    q.drain()
    assert attempts == ["x", "x", "x"]
    assert delays == [0.3, 0.6]
    assert exhausted == ["x"]


def test_a_concurrent_drain_is_refused_not_queued() -> None:
    started = threading.Event()
    gate = threading.Event()
    seen: list[str] = []

    def process(item: Item) -> None:
        seen.append(item.id)
        if item.id == "held":
            started.set()
            assert gate.wait(WAIT)

    q = make(process, batch_size=1)
    q.enqueue(Item("held"))
    q.enqueue(Item("waiting"))
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(q.drain()))
    first.start()
    assert started.wait(WAIT)
    assert q.draining is True
    assert q.drain() == 0  # refused while the first one runs
    gate.set()
    first.join(WAIT)
    assert results == [1]
    assert seen == ["held"]
    assert q.size == 1
    assert q.draining is False
    assert q.drain() == 1
    assert seen == ["held", "waiting"]


def test_concurrent_adrain_calls_on_one_loop_refuse_each_other() -> None:
    async def process(item: Item) -> None:
        await asyncio.sleep(0)

    q = make(process, batch_size=1)
    q.enqueue(Item("a"))
    q.enqueue(Item("b"))

    async def main() -> list[int]:
        return list(await asyncio.gather(q.adrain(), q.adrain()))

    assert sorted(asyncio.run(main())) == [0, 1]
    assert q.size == 1


def test_a_hook_that_raises_is_reported_and_ignored() -> None:
    reports: list[Report] = []
    completions: list[DrainStats] = []
    process, seen = recorder()

    def outcomes_hook(outcomes: list[ItemOutcome[Item]]) -> None:
        raise RuntimeError("observer exploded")

    def completion_hook(stats: DrainStats) -> None:
        completions.append(stats)
        raise RuntimeError("completion observer exploded")

    q = make(process, reports, on_drain_batch_outcomes=outcomes_hook, on_drain_complete=completion_hook)
    q.enqueue(Item("survivor"))
    assert q.drain() == 1
    assert seen == ["survivor"]
    assert len(completions) == 1
    assert reports == [
        ("BatchQueue.outcomeHook", "observer exploded", {"queue": "TEST_DRAIN"}),
        ("BatchQueue.completionHook", "completion observer exploded", {"queue": "TEST_DRAIN"}),
    ]


def test_the_default_reporter_logs_at_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="actors.batch")

    def hook(outcomes: object) -> None:
        raise RuntimeError("observer exploded")

    q = BatchQueue("LOGGED", lambda item: None, batch_size=1, drain_interval=1, on_drain_batch_outcomes=hook)
    q.enqueue("x")
    assert q.drain() == 1
    [record] = [r for r in caplog.records if r.name == "actors.batch"]
    assert record.levelno == logging.ERROR
    assert "BatchQueue.outcomeHook" in record.getMessage() and "LOGGED" in record.getMessage()
    assert record.exc_info is not None


def test_async_hooks_are_awaited() -> None:
    seen: list[object] = []

    async def outcomes_hook(outcomes: list[ItemOutcome[Item]]) -> None:
        seen.append(len(outcomes))

    async def completion_hook(stats: DrainStats) -> None:
        seen.append(stats.batch_size)

    q = make(on_drain_batch_outcomes=outcomes_hook, on_drain_complete=completion_hook)
    q.enqueue(Item("a"))
    q.drain()
    assert seen == [1, 1]


def test_drain_refuses_to_block_a_running_loop_but_adrain_works() -> None:
    process, seen = recorder()
    q = make(process)
    q.enqueue(Item("a"))

    async def main() -> int:
        with pytest.raises(RuntimeError, match="adrain"):
            q.drain()
        return await q.adrain()

    assert asyncio.run(main()) == 1
    assert seen == ["a"]


def test_capacity_options_reach_the_queue() -> None:
    pressure: list[str] = []
    warnings: list[tuple[int, int]] = []

    def on_pressure(queue: PriorityQueue[Item], item: Item) -> bool:
        pressure.append(item.id)
        return item.priority == "high"

    q = make(max_size=1, on_pressure=on_pressure, on_overflow_warning=lambda s, m: warnings.append((s, m)))
    assert q.enqueue(Item("a")) is True
    assert q.enqueue(Item("b")) is False
    assert q.enqueue(Item("c", "high")) is True
    assert pressure == ["b", "c"]
    assert warnings == [(2, 1)]
    assert len(q) == 2


def test_clear_empties_and_the_queue_stays_usable() -> None:
    q = make()
    q.enqueue(Item("a", "high"))
    q.enqueue(Item("b"))
    q.clear()
    assert q.size == 0 and q.stats()["total"] == 0
    assert q.enqueue(Item("c")) is True
    assert q.stats()["total"] == 1


# -- process_batch -------------------------------------------------------------------


def test_process_batch_is_called_once_with_the_whole_slice() -> None:
    calls: list[list[str]] = []
    process, seen = recorder()

    def batch(items: list[Item]) -> list[ItemOutcome[Item]]:
        calls.append([item.id for item in items])
        return [ItemOutcome(item, True) for item in items]

    outcomes: list[list[ItemOutcome[Item]]] = []
    q = make(process, batch_size=3, process_batch=batch, on_drain_batch_outcomes=outcomes.append)
    for name in ("a", "b", "c", "d"):
        q.enqueue(Item(name))
    assert q.drain() == 3
    assert calls == [["a", "b", "c"]]
    assert seen == []
    assert [[(o.item.id, o.success) for o in batch] for batch in outcomes] == [
        [("a", True), ("b", True), ("c", True)]
    ]


def test_a_raising_process_batch_fails_every_item_and_honours_should_retry() -> None:
    """The seed's "funded batch" case: a refused batch must not turn into per-item calls."""
    failure = RuntimeError("Recover original funded batch")
    reports: list[Report] = []
    exhausted: list[tuple[str, Exception]] = []
    outcomes: list[list[tuple[str, bool, int]]] = []
    process, seen = recorder()

    def batch(items: list[Item]) -> list[ItemOutcome[Item]]:
        raise failure

    q = make(
        process,
        reports,
        process_batch=batch,
        should_retry=lambda item, error, attempt: error is not failure,
        on_exhausted=lambda item, error: exhausted.append((item.id, error)),
        on_drain_batch_outcomes=lambda o: outcomes.append([(x.item.id, x.success, x.retry_count) for x in o]),
    )
    q.enqueue(Item("1"))
    q.enqueue(Item("2"))
    assert q.drain() == 2
    assert q.drain() == 0
    assert seen == []
    assert exhausted == [("1", failure), ("2", failure)]
    assert outcomes == [[("1", False, 0), ("2", False, 0)]]
    assert reports == [
        ("BatchQueue.processBatch", "Recover original funded batch", {"queue": "TEST_DRAIN", "batch_size": 2})
    ]


def test_a_raising_process_batch_falls_back_to_process_per_item() -> None:
    attempts: list[str] = []

    def process(item: Item) -> None:
        attempts.append(item.id)

    def batch(items: list[Item]) -> list[ItemOutcome[Item]]:
        raise RuntimeError("provider down")

    asked: list[tuple[str, int]] = []
    q = make(
        process,
        process_batch=batch,
        should_retry=lambda item, error, attempt: asked.append((item.id, attempt)) or True,
    )
    q.enqueue(Item("a"))
    q.enqueue(Item("b"))
    q.drain()
    assert asked == [("a", 1), ("b", 1)]
    assert sorted(attempts) == ["a", "b"]


def test_failed_outcomes_are_retried_per_item_in_batch_order() -> None:
    """The seed's partial-batch case, item for item."""
    fatal = RuntimeError("fatal")
    calls: list[int] = []
    exhausted: list[int] = []
    seen: list[tuple[int, bool, int]] = []

    def process(item: int) -> None:
        calls.append(item)
        if item == 3:
            raise RuntimeError("still failing")

    def batch(items: list[int]) -> list[ItemOutcome[int]]:
        return [
            ItemOutcome(item, True)
            if item == 1
            else ItemOutcome(item, False, fatal if item == 4 else RuntimeError("batch item failed"))
            for item in items
        ]

    q: BatchQueue[int] = BatchQueue(
        "PARTIAL_DRAIN",
        process,
        batch_size=10,
        drain_interval=0.1,
        max_retries_after_failure=1,
        retry_policy=RetryPolicy(min_delay=0, max_delay=0),
        process_batch=batch,
        should_retry=lambda item, error, attempt: error is not fatal,
        on_exhausted=lambda item, error: exhausted.append(item),
        on_drain_batch_outcomes=lambda outcomes: seen.extend(
            (o.item, o.success, o.retry_count) for o in outcomes
        ),
    )
    for item in (1, 2, 3, 4):
        q.enqueue(item)
    assert q.drain() == 4
    assert calls == [2, 3, 3]
    assert exhausted == [4, 3]
    assert seen == [(1, True, 0), (2, True, 0), (3, False, 1), (4, False, 0)]


def test_a_failed_outcome_without_error_gets_one() -> None:
    outcomes: list[ItemOutcome[Item]] = []
    q = make(
        process_batch=lambda items: [ItemOutcome(item, False) for item in items],
        should_retry=lambda *args: False,
        on_drain_batch_outcomes=outcomes.extend,
    )
    q.enqueue(Item("a"))
    q.drain()
    [outcome] = outcomes
    assert isinstance(outcome.error, RuntimeError)
    assert (
        str(outcome.error) == 'BatchQueue "TEST_DRAIN" processBatch reported a failed item without an error'
    )


@pytest.mark.parametrize(
    "returned",
    [
        None,
        "not outcomes",
        [],
        ["a", "b"],
        [ItemOutcome(Item("a"), True)],  # one outcome short
        (ItemOutcome(Item("a"), True),) * 3,  # one too many
    ],
)
def test_a_malformed_process_batch_result_is_a_batch_wide_failure(returned: object) -> None:
    reports: list[Report] = []
    process, seen = recorder()
    q = make(process, reports, process_batch=lambda items: returned)
    q.enqueue(Item("a"))
    q.enqueue(Item("b"))
    assert q.drain() == 2
    assert sorted(seen) == ["a", "b"]  # every item went down the per-item path
    [(where, message, context)] = reports
    assert where == "BatchQueue.processBatch"
    assert "must return one ItemOutcome per item (2)" in message
    assert context == {"queue": "TEST_DRAIN", "batch_size": 2}


def test_process_batch_gets_a_copy_of_the_slice() -> None:
    def batch(items: list[Item]) -> list[ItemOutcome[Item]]:
        outcomes = [ItemOutcome(item, True) for item in items]
        items.clear()
        return outcomes

    seen: list[int] = []
    q = make(process_batch=batch, on_drain_complete=lambda stats: seen.append(stats.batch_size))
    q.enqueue(Item("a"))
    assert q.drain() == 1
    assert seen == [1]


def test_async_process_batch_and_async_process() -> None:
    attempts: list[str] = []

    async def process(item: Item) -> None:
        attempts.append(item.id)

    async def batch(items: list[Item]) -> list[ItemOutcome[Item]]:
        await asyncio.sleep(0)
        return [
            ItemOutcome(item, item.id == "ok", None if item.id == "ok" else ValueError("x")) for item in items
        ]

    outcomes: list[ItemOutcome[Item]] = []
    q = make(process, process_batch=batch, on_drain_batch_outcomes=outcomes.extend)
    q.enqueue(Item("ok"))
    q.enqueue(Item("retry"))
    q.drain()
    assert attempts == ["retry"]
    assert [(o.item.id, o.success) for o in outcomes] == [("ok", True), ("retry", True)]


def test_process_batch_callback_failures_are_reported() -> None:
    reports: list[Report] = []

    def should_retry(item: Item, error: Exception, attempt: int) -> bool:
        if item.id == "odd":
            raise LookupError("predicate bug")
        return False

    def on_exhausted(item: Item, error: Exception) -> None:
        raise RuntimeError("callback bug")

    outcomes: list[ItemOutcome[Item]] = []
    q = make(
        lambda item: None,
        reports,
        process_batch=lambda items: [ItemOutcome(item, False, ValueError(item.id)) for item in items],
        should_retry=should_retry,
        on_exhausted=on_exhausted,
        on_drain_batch_outcomes=outcomes.extend,
    )
    q.enqueue(Item("odd"))
    q.enqueue(Item("even"))
    q.drain()
    assert [(o.item.id, o.success) for o in outcomes] == [("odd", False), ("even", False)]
    assert [where for where, _, _ in reports] == [
        "BatchQueue.shouldRetry",
        "BatchQueue.onExhausted",
        "BatchQueue.onExhausted",
    ]


# -- dispose -------------------------------------------------------------------------


def test_after_dispose_enqueue_drain_and_clear_are_inert() -> None:
    process, seen = recorder()
    q = make(process)
    q.enqueue(Item("pending"))
    assert [i.id for i in q.dispose(flush_high_priority=False)] == ["pending"]
    assert q.disposed is True
    assert q.size == 0
    assert q.enqueue(Item("late")) is False
    assert q.drain() == 0
    assert asyncio.run(q.adrain()) == 0
    q.clear()
    assert q.size == 0
    assert seen == []


def test_default_flush_runs_only_high_items_once_and_hands_back_the_rest() -> None:
    attempts: list[str] = []
    exhausted: list[tuple[str, str]] = []
    flushed: list[list[tuple[str, bool]]] = []
    completions: list[DrainStats] = []

    def process(item: Item) -> None:
        attempts.append(item.id)
        if item.id == "hot":
            raise RuntimeError("flush target down")

    q = make(
        process,
        max_retries_after_failure=5,
        on_exhausted=lambda item, error: exhausted.append((item.id, str(error))),
        on_drain_batch_outcomes=lambda outcomes: flushed.append([(o.item.id, o.success) for o in outcomes]),
        on_drain_complete=completions.append,
    )
    q.enqueue(Item("cold-low", "low"))
    q.enqueue(Item("hot", "high"))
    q.enqueue(Item("warm"))
    q.enqueue(Item("hot-2", "high"))
    left = q.dispose()
    assert attempts == ["hot", "hot-2"]  # one attempt each, one at a time, in order
    assert exhausted == [("hot", "flush target down")]
    assert flushed == [[("hot", False), ("hot-2", True)]]
    assert completions == []
    assert [i.id for i in left] == ["warm", "cold-low"]
    assert q.size == 0


def test_the_flush_is_one_attempt_even_for_items_asking_for_more() -> None:
    @dataclass
    class Greedy(Item):
        _batch_max_attempts: int = 9

    attempts: list[str] = []

    def process(item: Item) -> None:
        attempts.append(item.id)
        raise RuntimeError("no")

    q = make(process, retry_policy=RetryPolicy(attempts=7))
    q.enqueue(Greedy("g", "high"))
    q.dispose()
    assert attempts == ["g"]


def test_the_flush_runs_one_item_at_a_time() -> None:
    active = 0
    peak = 0

    async def process(item: Item) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0)
        active -= 1

    q = make(process, max_parallel=10)
    for i in range(5):
        q.enqueue(Item(str(i), "high"))
    q.dispose()
    assert peak == 1


def test_no_flush_when_disabled_and_everything_is_handed_back() -> None:
    process, seen = recorder()
    q = make(process, drain_high_priority_on_stop=False)
    q.enqueue(Item("calm"))
    q.enqueue(Item("urgent", "high"))
    assert [i.id for i in q.dispose()] == ["urgent", "calm"]
    assert seen == []


def test_flush_high_priority_overrides_the_option_both_ways() -> None:
    process, seen = recorder()
    q = make(process, drain_high_priority_on_stop=False)
    q.enqueue(Item("urgent", "high"))
    q.enqueue(Item("calm"))
    assert [i.id for i in q.dispose(flush_high_priority=True)] == ["calm"]
    assert seen == ["urgent"]

    process, seen = recorder()
    q = make(process)
    q.enqueue(Item("urgent", "high"))
    assert [i.id for i in q.dispose(flush_high_priority=False)] == ["urgent"]
    assert seen == []


def test_the_flush_asks_for_the_priority_now() -> None:
    process, seen = recorder()
    q = make(process)
    promoted, demoted = Item("promoted", "low"), Item("demoted", "high")
    q.enqueue(promoted)
    q.enqueue(demoted)
    promoted.priority, demoted.priority = "high", "normal"
    assert [i.id for i in q.dispose()] == ["demoted"]
    assert seen == ["promoted"]


def test_a_raising_get_priority_during_the_flush_hands_the_item_back() -> None:
    reports: list[Report] = []
    process, seen = recorder()
    calls = 0

    def priority(item: Item) -> str:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise LookupError("gone")
        return "high"

    q: BatchQueue[Item] = BatchQueue(
        "Q",
        process,
        batch_size=1,
        drain_interval=1,
        get_priority=priority,
        reporter=lambda where, error, context: reports.append((where, str(error), context)),
    )
    q.enqueue(Item("a"))
    assert [i.id for i in q.dispose()] == ["a"]
    assert seen == []
    assert reports == [("BatchQueue.shutdownFlush", "gone", {"queue": "Q"})]


def test_the_flush_hook_is_unguarded_and_a_second_dispose_hands_back_the_rest() -> None:
    def hook(outcomes: list[ItemOutcome[Item]]) -> None:
        raise RuntimeError("flush observer exploded")

    process, seen = recorder()
    q = make(process, on_drain_batch_outcomes=hook)
    q.enqueue(Item("urgent", "high"))
    q.enqueue(Item("calm"))
    with pytest.raises(RuntimeError, match="flush observer exploded"):
        q.dispose()
    assert seen == ["urgent"]
    assert q.enqueue(Item("late")) is False
    assert [i.id for i in q.dispose()] == ["calm"]
    assert seen == ["urgent"]


def test_dispose_does_not_wait_for_a_running_drain() -> None:
    started = threading.Event()
    gate = threading.Event()
    seen: list[str] = []

    def process(item: Item) -> None:
        seen.append(item.id)
        started.set()
        assert gate.wait(WAIT)

    completions: list[DrainStats] = []
    q = make(process, batch_size=1, on_drain_complete=completions.append)
    q.enqueue(Item("running"))
    q.enqueue(Item("queued"))
    drainer = threading.Thread(target=q.drain)
    drainer.start()
    assert started.wait(WAIT)
    assert [i.id for i in q.dispose()] == ["queued"]  # returns while "running" is still in process
    assert drainer.is_alive()
    gate.set()
    drainer.join(WAIT)
    assert seen == ["running"]
    assert [c.batch_size for c in completions] == [1]


def test_dispose_reaches_the_runtime_seam_once_per_call() -> None:
    stopped: list[int] = []

    class Durable(BatchQueue[Item]):
        def _stop_drain(self) -> None:
            stopped.append(self.size)

    q = Durable(
        "D", lambda item: None, batch_size=1, drain_interval=1, get_priority=lambda item: item.priority
    )
    q.enqueue(Item("calm"))
    q.dispose()
    assert stopped == [1]  # after the flush, before the rest is handed back


def test_adispose_on_a_running_loop() -> None:
    async def process(item: Item) -> None:
        await asyncio.sleep(0)

    q = make(process)
    q.enqueue(Item("urgent", "high"))
    q.enqueue(Item("calm"))

    async def main() -> list[str]:
        with pytest.raises(RuntimeError, match="adispose"):
            q.dispose()
        return [i.id for i in await q.adispose()]

    assert asyncio.run(main()) == ["calm"]
