"""BatchProcessor: ELIZA_SPEC §4 — attempts, back-off, should_retry, on_exhausted, parallelism."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from actors.batch import BatchProcessor, ItemOutcome, RetryPolicy

WAIT = 5.0


class Boom(Exception):
    pass


def always_fail(item: object) -> None:
    raise Boom(f"fail {item}")


def fails_times(n: int) -> tuple[Any, list[object]]:
    """A process that fails the first ``n`` calls per item and records every call."""
    calls: list[object] = []

    def process(item: object) -> None:
        calls.append(item)
        if calls.count(item) <= n:
            raise Boom(f"{item} #{calls.count(item)}")

    return process, calls


def outcome_view(outcomes: list[ItemOutcome[Any]]) -> list[tuple[Any, bool, int]]:
    return [(o.item, o.success, o.retry_count) for o in outcomes]


# -- basics --------------------------------------------------------------------------


def test_successes_come_back_in_input_order() -> None:
    seen: list[int] = []
    outcomes = BatchProcessor(seen.append, max_parallel=3).run([5, 3, 9, 1])
    assert outcome_view(outcomes) == [(5, True, 0), (3, True, 0), (9, True, 0), (1, True, 0)]
    assert all(o.error is None for o in outcomes)
    assert sorted(seen) == [1, 3, 5, 9]


def test_empty_input_calls_nothing() -> None:
    seen: list[int] = []
    assert BatchProcessor(seen.append).run([]) == []
    assert asyncio.run(BatchProcessor(seen.append).arun(iter([]))) == []
    assert seen == []


def test_any_iterable_is_accepted() -> None:
    outcomes = BatchProcessor(lambda item: None).run(x * 2 for x in range(3))
    assert [o.item for o in outcomes] == [0, 2, 4]


def test_default_is_four_attempts_with_300_600_1200_ms_back_off() -> None:
    delays: list[float] = []
    exhausted: list[tuple[object, Exception]] = []
    process, calls = fails_times(99)
    [outcome] = BatchProcessor(
        process, sleep=delays.append, on_exhausted=lambda item, err: exhausted.append((item, err))
    ).run(["x"])
    assert calls == ["x"] * 4
    assert delays == [0.3, 0.6, 1.2]
    assert outcome.success is False
    assert outcome.retry_count == 3
    assert isinstance(outcome.error, Boom) and str(outcome.error) == "x #4"
    assert exhausted == [("x", outcome.error)]


def test_success_after_failures_counts_the_retries() -> None:
    delays: list[float] = []
    process, calls = fails_times(2)
    [outcome] = BatchProcessor(process, sleep=delays.append).run(["x"])
    assert (outcome.success, outcome.retry_count, outcome.error) == (True, 2, None)
    assert calls == ["x"] * 3
    assert delays == [0.3, 0.6]


def test_zero_retries_means_one_attempt_and_no_sleep() -> None:
    delays: list[float] = []
    process, calls = fails_times(99)
    [outcome] = BatchProcessor(process, max_retries_after_failure=0, sleep=delays.append).run(["x"])
    assert calls == ["x"]
    assert delays == []
    assert (outcome.success, outcome.retry_count) == (False, 0)


@pytest.mark.parametrize(
    ("retries", "attempts"),
    [(1, 2), (5, 6), (-3, 1), (1.5, 3), (float("nan"), 4), (None, 4), ("2", 4)],
)
def test_max_retries_after_failure_is_normalised(retries: object, attempts: int) -> None:
    assert BatchProcessor(always_fail, max_retries_after_failure=retries).default_max_attempts == attempts  # type: ignore[arg-type]


def test_policy_attempts_override_retries_plus_one() -> None:
    process, calls = fails_times(99)
    BatchProcessor(
        process, max_retries_after_failure=5, retry_policy=RetryPolicy(attempts=2), sleep=lambda s: None
    ).run(["x"])
    assert calls == ["x", "x"]


@pytest.mark.parametrize(
    ("policy", "attempts", "delays"),
    [
        (RetryPolicy(attempts=0), 1, []),
        (RetryPolicy(attempts=-7), 1, []),
        (RetryPolicy(attempts=2.5), 3, [0.3, 0.6]),  # type: ignore[arg-type]  # JS Math.round: halves up
        (RetryPolicy(attempts=2.4), 2, [0.3]),  # type: ignore[arg-type]
        (RetryPolicy(attempts=float("inf")), 4, [0.3, 0.6, 1.2]),  # type: ignore[arg-type]  # non-finite: default
        (RetryPolicy(min_delay=-1), 4, []),  # clamped to 0: nothing to sleep
        (RetryPolicy(min_delay=0), 4, []),
        (RetryPolicy(min_delay=float("nan")), 4, [0.3, 0.6, 1.2]),
        (RetryPolicy(min_delay=1, max_delay=0.5), 4, [1.0, 1.0, 1.0]),  # max >= min
        (RetryPolicy(min_delay=10, max_delay=15), 4, [10.0, 15.0, 15.0]),
        (RetryPolicy(max_delay=float("inf")), 4, [0.3, 0.6, 1.2]),
        (RetryPolicy(max_delay=-5), 4, [0.3, 0.3, 0.3]),
        (RetryPolicy(min_delay=0.0004), 4, []),  # whole milliseconds: 0.4 ms rounds to 0
        (RetryPolicy(min_delay=0.0005), 4, [0.001, 0.002, 0.004]),  # ...and 0.5 ms to 1
        (RetryPolicy(jitter=float("nan")), 4, [0.3, 0.6, 1.2]),
        (RetryPolicy(jitter=-1), 4, [0.3, 0.6, 1.2]),
    ],
)
def test_retry_policy_clamping(policy: RetryPolicy, attempts: int, delays: list[float]) -> None:
    slept: list[float] = []
    process, calls = fails_times(99)
    processor = BatchProcessor(process, retry_policy=policy, sleep=slept.append)
    assert processor.default_max_attempts == attempts
    processor.run(["x"])
    assert len(calls) == attempts
    assert slept == delays  # a zero delay is not slept at all


def test_jitter_is_drawn_from_the_injected_rng() -> None:
    slept: list[float] = []
    process, _ = fails_times(99)
    BatchProcessor(
        process, retry_policy=RetryPolicy(jitter=0.5), sleep=slept.append, rng=random.Random(42)
    ).run(["x"])
    draws = random.Random(42)
    expected = [round(300 * 2**k * (1 + 0.5 * draws.random())) / 1000 for k in range(3)]
    assert slept == expected
    assert all(0.3 * 2**k <= d <= 0.45 * 2**k for k, d in enumerate(slept))


def test_jitter_above_one_is_clamped_to_one() -> None:
    class Top(random.Random):
        def random(self) -> float:
            return 0.999999

    processor = BatchProcessor(always_fail, retry_policy=RetryPolicy(jitter=7), rng=Top())
    assert processor.backoff_delay(1) == 0.6
    assert processor.backoff_delay(2) == 1.2


def test_back_off_never_overflows_and_stays_capped() -> None:
    processor = BatchProcessor(always_fail)
    assert processor.backoff_delay(1) == 0.3
    assert processor.backoff_delay(8) == 30.0
    assert processor.backoff_delay(5000) == 30.0
    assert processor.backoff_delay(0) == 0.3


def test_async_sleep_is_awaited() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    process, _ = fails_times(1)
    [outcome] = BatchProcessor(process, sleep=sleep).run(["x"])
    assert outcome.success and slept == [0.3]


def test_default_sleep_really_waits_on_the_loop() -> None:
    process, calls = fails_times(1)
    [outcome] = BatchProcessor(process, retry_policy=RetryPolicy(min_delay=0.001)).run(["x"])
    assert outcome.success and len(calls) == 2


# -- attempts per item -----------------------------------------------------------------


@dataclass
class Job:
    name: str
    _batch_max_attempts: object = None


@pytest.mark.parametrize(
    ("item", "attempts"),
    [
        (Job("attr", 2), 2),
        (Job("attr-big", 6), 6),
        (Job("attr-frac", 2.9), 2),
        ({"_batch_max_attempts": 1}, 1),
        ({"_batchMaxAttempts": 5}, 5),
        ({"_batch_max_attempts": 2, "_batchMaxAttempts": 5}, 2),
        (Job("zero", 0), 4),
        (Job("neg", -1), 4),
        (Job("nan", float("nan")), 4),
        (Job("inf", float("inf")), 4),
        (Job("str", "3"), 4),
        (Job("bool", True), 4),
        (Job("none"), 4),
        ({"_batchMaxAttempts": "9"}, 4),
        ("plain string", 4),
        (7, 4),
    ],
)
def test_per_item_attempt_override(item: object, attempts: int) -> None:
    calls: list[object] = []

    def process(x: object) -> None:
        calls.append(x)
        raise Boom()

    processor = BatchProcessor(process, sleep=lambda s: None)
    assert processor.attempts_for(item) == attempts
    [outcome] = processor.run([item])
    assert len(calls) == attempts
    assert outcome.retry_count == attempts - 1


@pytest.mark.parametrize(
    ("cap", "item", "attempts"),
    [
        (1, Job("big", 9), 1),
        (2, Job("plain"), 2),
        (10, Job("small", 3), 3),
        (0, Job("plain"), 1),
        (2.7, Job("plain"), 2),
        (float("nan"), Job("plain"), 4),
        (None, Job("big", 9), 9),
    ],
)
def test_max_attempts_cap(cap: object, item: Job, attempts: int) -> None:
    processor = BatchProcessor(always_fail, max_attempts_cap=cap, sleep=lambda s: None)  # type: ignore[arg-type]
    assert processor.attempts_for(item) == attempts
    [outcome] = processor.run([item])
    assert outcome.retry_count == attempts - 1


# -- should_retry and on_exhausted -------------------------------------------------


def test_should_retry_is_asked_on_every_attempt_but_the_last() -> None:
    asked: list[tuple[object, str, int]] = []

    def should_retry(item: object, error: Exception, attempt: int) -> bool:
        asked.append((item, str(error), attempt))
        return True

    process, _ = fails_times(99)
    BatchProcessor(process, should_retry=should_retry, sleep=lambda s: None).run(["x"])
    assert asked == [("x", "x #1", 1), ("x", "x #2", 2), ("x", "x #3", 3)]


def test_should_retry_false_exhausts_at_once() -> None:
    delays: list[float] = []
    exhausted: list[object] = []
    process, calls = fails_times(99)
    [outcome] = BatchProcessor(
        process,
        should_retry=lambda item, error, attempt: attempt < 2,
        on_exhausted=lambda item, error: exhausted.append(item),
        sleep=delays.append,
    ).run(["x"])
    assert calls == ["x", "x"]
    assert delays == [0.3]
    assert (outcome.success, outcome.retry_count, str(outcome.error)) == (False, 1, "x #2")
    assert exhausted == ["x"]


def test_should_retry_result_is_taken_for_its_truth() -> None:
    process, calls = fails_times(99)
    BatchProcessor(process, should_retry=lambda *a: None, sleep=lambda s: None).run(["x"])  # type: ignore[arg-type,return-value]
    assert calls == ["x"]


def test_a_raising_should_retry_is_reported_and_the_item_gives_up() -> None:
    reports: list[tuple[str, str, dict[str, Any]]] = []

    def should_retry(item: object, error: Exception, attempt: int) -> bool:
        raise RuntimeError("predicate bug")

    process, calls = fails_times(99)
    [ok, failed] = BatchProcessor(
        lambda item: None if item == "fine" else process(item),
        should_retry=should_retry,
        reporter=lambda where, err, ctx: reports.append((where, str(err), ctx)),
    ).run(["fine", "x"])
    assert ok.success and not failed.success
    assert str(failed.error) == "x #1"
    assert calls == ["x"]
    assert reports == [("BatchProcessor.shouldRetry", "predicate bug", {"attempt": 1})]


def test_on_exhausted_errors_are_reported_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="actors.batch")

    def on_exhausted(item: object, error: Exception) -> None:
        raise RuntimeError("callback bug")

    outcomes = BatchProcessor(always_fail, max_retries_after_failure=0, on_exhausted=on_exhausted).run([1, 2])
    assert [(o.item, o.success, str(o.error)) for o in outcomes] == [
        (1, False, "fail 1"),
        (2, False, "fail 2"),
    ]
    records = [r for r in caplog.records if r.name == "actors.batch"]
    assert len(records) == 2
    assert all("BatchProcessor.onExhausted" in r.getMessage() for r in records)


def test_async_on_exhausted_is_awaited() -> None:
    exhausted: list[object] = []

    async def on_exhausted(item: object, error: Exception) -> None:
        await asyncio.sleep(0)
        exhausted.append(item)

    BatchProcessor(always_fail, max_retries_after_failure=0, on_exhausted=on_exhausted).run(["a", "b"])
    assert sorted(exhausted) == ["a", "b"]  # type: ignore[type-var]


def test_a_raising_reporter_is_swallowed(caplog: pytest.LogCaptureFixture) -> None:
    def reporter(where: str, error: BaseException, context: dict[str, Any]) -> None:
        raise RuntimeError("reporter bug")

    def on_exhausted(item: object, error: Exception) -> None:
        raise RuntimeError("callback bug")

    [outcome] = BatchProcessor(
        always_fail, max_retries_after_failure=0, on_exhausted=on_exhausted, reporter=reporter
    ).run(["x"])
    assert not outcome.success
    assert any("reporter failed" in r.getMessage() for r in caplog.records)


# -- the permit ---------------------------------------------------------------------


def test_the_permit_is_released_before_sleep_and_before_on_exhausted() -> None:
    seen: dict[str, list[int]] = {"sleep": [], "exhausted": []}
    holder: list[BatchProcessor[str]] = []

    def sleep(seconds: float) -> None:
        seen["sleep"].append(holder[0].semaphore.available_permits)

    def on_exhausted(item: str, error: Exception) -> None:
        seen["exhausted"].append(holder[0].semaphore.available_permits)

    holder.append(BatchProcessor(always_fail, max_parallel=1, sleep=sleep, on_exhausted=on_exhausted))
    holder[0].run(["x"])
    assert seen == {"sleep": [1, 1, 1], "exhausted": [1]}


def test_a_sleeping_item_does_not_block_the_others() -> None:
    order: list[str] = []
    b_ran = threading.Event()

    def process(item: str) -> None:
        order.append(item)
        if item == "b":
            b_ran.set()
        if item == "a" and order.count("a") == 1:
            raise Boom()

    def sleep(seconds: float) -> None:
        assert b_ran.wait(WAIT)  # "a" is backing off; "b" must get the only permit meanwhile

    outcomes = BatchProcessor(process, max_parallel=1, sleep=sleep).run(["a", "b"])
    assert order == ["a", "b", "a"]
    assert outcome_view(outcomes) == [("a", True, 1), ("b", True, 0)]


def test_items_start_in_input_order_under_a_single_permit() -> None:
    order: list[int] = []
    BatchProcessor(order.append, max_parallel=1).run(list(range(20)))
    assert order == list(range(20))


@pytest.mark.parametrize("permits", [1, 2, 3])
def test_at_most_max_parallel_threads_run_process(permits: int) -> None:
    lock = threading.Lock()
    active = 0
    peak = 0
    together = threading.Barrier(permits, timeout=WAIT)

    def process(item: int) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        together.wait()  # fails unless `permits` calls really overlap
        with lock:
            active -= 1

    outcomes = BatchProcessor(process, max_parallel=permits).run(range(permits * 4))
    assert all(o.success for o in outcomes)
    assert peak == permits


@pytest.mark.parametrize("permits", [1, 3])
def test_at_most_max_parallel_coroutines_run_process(permits: int) -> None:
    active = 0
    peak = 0

    async def process(item: int) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        for _ in range(3):
            await asyncio.sleep(0)
        active -= 1

    outcomes = BatchProcessor(process, max_parallel=permits).run(range(10))
    assert all(o.success for o in outcomes)
    assert peak == permits


def test_concurrent_runs_share_one_limit() -> None:
    lock = threading.Lock()
    active = 0
    peak = 0
    gate = threading.Event()

    def process(item: int) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        gate.wait(0.005)
        with lock:
            active -= 1

    processor = BatchProcessor(process, max_parallel=2)
    runs = [threading.Thread(target=processor.run, args=(range(6),)) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(WAIT)
    assert peak <= 2
    assert processor.semaphore.available_permits == 2


# -- sync / async matrix ---------------------------------------------------------------


def test_async_process_through_run() -> None:
    process_calls: list[int] = []

    async def process(item: int) -> None:
        await asyncio.sleep(0)
        process_calls.append(item)
        if item == 2 and process_calls.count(2) == 1:
            raise Boom()

    outcomes = BatchProcessor(process, sleep=lambda s: None).run([1, 2, 3])
    assert outcome_view(outcomes) == [(1, True, 0), (2, True, 1), (3, True, 0)]


def test_sync_process_through_arun_runs_off_the_loop() -> None:
    threads: list[str] = []

    def process(item: int) -> None:
        threads.append(threading.current_thread().name)

    async def main() -> list[ItemOutcome[int]]:
        return await BatchProcessor(process).arun([1, 2])

    outcomes = asyncio.run(main())
    assert all(o.success for o in outcomes)
    assert all(name.startswith("actors-batch") for name in threads)


def test_a_plain_function_returning_a_coroutine_is_awaited() -> None:
    done: list[int] = []

    async def work(item: int) -> None:
        done.append(item)

    outcomes = BatchProcessor(lambda item: work(item)).run([1, 2])
    assert all(o.success for o in outcomes)
    assert sorted(done) == [1, 2]


def test_an_object_with_async_call_is_awaited_on_the_loop() -> None:
    class Handler:
        def __init__(self) -> None:
            self.seen: list[int] = []

        async def __call__(self, item: int) -> None:
            asyncio.get_running_loop()  # raises off the loop
            self.seen.append(item)

    handler = Handler()
    outcomes = BatchProcessor(handler).run([1, 2])
    assert all(o.success for o in outcomes) and sorted(handler.seen) == [1, 2]


def test_run_refuses_to_block_a_running_loop() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="arun"):
            BatchProcessor(lambda item: None).run([1])

    asyncio.run(main())


# -- what is never retried ----------------------------------------------------------


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_interrupts_from_a_thread_propagate_and_are_not_retried(error: type[BaseException]) -> None:
    calls: list[int] = []

    def process(item: int) -> None:
        calls.append(item)
        raise error()

    with pytest.raises(error):
        BatchProcessor(process, max_parallel=1, sleep=lambda s: None).run([1, 2])
    assert calls[0] == 1
    assert calls.count(1) == 1


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_interrupts_from_a_coroutine_propagate_and_are_not_retried(error: type[BaseException]) -> None:
    calls: list[int] = []

    async def process(item: int) -> None:
        calls.append(item)
        raise error()

    with pytest.raises(error):
        BatchProcessor(process, max_parallel=1, sleep=lambda s: None).run([1])
    assert calls == [1]


def test_a_custom_base_exception_propagates_and_the_rest_are_cancelled() -> None:
    class Halt(BaseException):
        pass

    started: list[int] = []

    async def process(item: int) -> None:
        started.append(item)
        if item == 1:
            raise Halt()
        await asyncio.Event().wait()  # would hang forever unless cancelled

    async def main() -> None:
        with pytest.raises(Halt):
            await asyncio.wait_for(BatchProcessor(process, max_parallel=5).arun([0, 1, 2]), WAIT)

    asyncio.run(main())
    assert sorted(started) == [0, 1, 2]


def test_cancelling_arun_keeps_the_permit_until_the_thread_finishes() -> None:
    started = threading.Event()
    gate = threading.Event()

    def process(item: int) -> None:
        started.set()
        gate.wait(WAIT)

    processor = BatchProcessor(process, max_parallel=1)

    async def main() -> None:
        task = asyncio.ensure_future(processor.arun([1]))
        assert await asyncio.to_thread(started.wait, WAIT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert processor.semaphore.available_permits == 0  # the thread still runs process
        gate.set()
        for _ in range(5000):
            if processor.semaphore.available_permits == 1:
                break
            await asyncio.sleep(0.001)
        assert processor.semaphore.available_permits == 1

    asyncio.run(main())


def test_item_outcome_is_a_frozen_value() -> None:
    outcome = ItemOutcome("x", False, Boom("e"), 2)
    assert outcome == ItemOutcome("x", False, outcome.error, 2)
    with pytest.raises(AttributeError):
        outcome.success = True  # type: ignore[misc]
    assert ItemOutcome("y", True) == ItemOutcome("y", True, None, 0)
