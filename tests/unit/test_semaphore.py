"""Semaphore: ELIZA_SPEC §7 — normalised permits, FIFO waiters, no upper bound; threads and asyncio."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from fractions import Fraction

import pytest

from actors.batch import Semaphore

WAIT = 5.0  # upper bound on any wait; the tests never wait this long when they pass


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    """Poll ``predicate`` with bounded event waits (no sleeping)."""
    tick = threading.Event()
    for _ in range(int(timeout / 0.001)):
        if predicate():
            return
        tick.wait(0.001)
    raise AssertionError("condition not reached in time")


@pytest.mark.parametrize(
    ("given", "permits"),
    [
        (3, 3),
        (1, 1),
        (2.9, 2),
        (1.99, 1),
        (Fraction(5, 2), 2),
        (0, 1),
        (0.5, 1),
        (-5, 1),
        (float("nan"), 1),
        (float("inf"), 1),
        (float("-inf"), 1),
        (None, 1),
        ("4", 1),
        (True, 1),
        ([2], 1),
    ],
)
def test_permits_are_normalised(given: object, permits: int) -> None:
    assert Semaphore(given).available_permits == permits  # type: ignore[arg-type]


def test_default_is_one_permit() -> None:
    assert Semaphore().available_permits == 1


def test_acquire_takes_free_permits_at_once() -> None:
    sem = Semaphore(2)
    assert sem.acquire() is True
    assert sem.acquire(timeout=0) is True
    assert sem.available_permits == 0
    assert sem.queue_length == 0


@pytest.mark.parametrize("timeout", [0, -1])
def test_non_positive_timeout_only_tries(timeout: float) -> None:
    sem = Semaphore(1)
    sem.acquire()
    assert sem.acquire(timeout=timeout) is False
    assert sem.queue_length == 0


def test_release_without_acquire_raises_the_count() -> None:
    sem = Semaphore(1)
    sem.release()
    sem.release()
    assert sem.available_permits == 3
    assert all(sem.acquire(timeout=0) for _ in range(3))
    assert sem.acquire(timeout=0) is False


def test_context_manager_releases_even_on_error() -> None:
    sem = Semaphore(1)
    with pytest.raises(ValueError), sem:
        assert sem.available_permits == 0
        raise ValueError("inside")
    assert sem.available_permits == 1


def test_timed_out_waiter_leaves_the_line_and_takes_nothing() -> None:
    sem = Semaphore(1)
    sem.acquire()
    assert sem.acquire(timeout=0.01) is False
    assert sem.queue_length == 0
    sem.release()
    assert sem.available_permits == 1


def _start_waiters(
    sem: Semaphore, n: int, order: list[int], got: list[threading.Event]
) -> list[threading.Thread]:
    threads = []
    for i in range(n):

        def run(i: int = i) -> None:
            assert sem.acquire(timeout=WAIT)
            order.append(i)
            got[i].set()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        wait_until(lambda i=i: sem.queue_length == i + 1)  # type: ignore[misc]
        threads.append(thread)
    return threads


def test_threads_are_served_in_arrival_order() -> None:
    sem = Semaphore(1)
    sem.acquire()
    order: list[int] = []
    got = [threading.Event() for _ in range(5)]
    threads = _start_waiters(sem, 5, order, got)
    assert sem.queue_length == 5
    for i in range(5):
        sem.release()  # one permit at a time: exactly one waiter may proceed
        assert got[i].wait(WAIT)
    for thread in threads:
        thread.join(WAIT)
    assert order == [0, 1, 2, 3, 4]
    assert sem.available_permits == 0  # each release was handed straight to a waiter
    assert sem.queue_length == 0


def test_release_hands_the_permit_over_so_a_late_arrival_cannot_barge() -> None:
    sem = Semaphore(1)
    sem.acquire()
    order: list[int] = []
    got = [threading.Event()]
    _start_waiters(sem, 1, order, got)
    sem.release()
    assert sem.acquire(timeout=0) is False  # the permit already belongs to the waiter
    assert got[0].wait(WAIT)
    assert sem.available_permits == 0


def test_a_waiter_timing_out_mid_line_does_not_break_the_order() -> None:
    sem = Semaphore(1)
    sem.acquire()
    order: list[str] = []
    gave_up = threading.Event()

    def impatient() -> None:
        if not sem.acquire(timeout=0.05):
            gave_up.set()

    def patient(name: str) -> None:
        assert sem.acquire(timeout=WAIT)
        order.append(name)

    threads = [threading.Thread(target=impatient, daemon=True)]
    threads[0].start()
    wait_until(lambda: sem.queue_length == 1)
    for i, name in enumerate(("second", "third")):
        threads.append(threading.Thread(target=patient, args=(name,), daemon=True))
        threads[-1].start()
        wait_until(lambda i=i: sem.queue_length == i + 2)  # type: ignore[misc]
    assert gave_up.wait(WAIT)
    assert sem.queue_length == 2
    sem.release()
    wait_until(lambda: order == ["second"])
    sem.release()
    for thread in threads:
        thread.join(WAIT)
    assert order == ["second", "third"]
    assert sem.available_permits == 0


def test_never_more_holders_than_permits() -> None:
    sem = Semaphore(2)
    lock = threading.Lock()
    active = 0
    peak = 0
    both_in = threading.Barrier(2, timeout=WAIT)

    def work() -> None:
        nonlocal active, peak
        with sem:
            with lock:
                active += 1
                peak = max(peak, active)
            both_in.wait()  # proves two really hold at once
            with lock:
                active -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert peak == 2
    assert sem.available_permits == 2


# -- asyncio --------------------------------------------------------------------------


def test_coroutines_are_served_in_arrival_order() -> None:
    async def main() -> list[int]:
        sem = Semaphore(1)
        await sem.acquire_async()
        order: list[int] = []

        async def waiter(i: int) -> None:
            await sem.acquire_async()
            order.append(i)

        tasks = []
        for i in range(5):
            tasks.append(asyncio.ensure_future(waiter(i)))
            await asyncio.sleep(0)  # let it reach the line before the next one starts
        assert sem.queue_length == 5
        for i in range(5):
            sem.release()
            await tasks[i]
            assert order[-1] == i
        assert sem.available_permits == 0
        return order

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


def test_async_context_manager() -> None:
    async def main() -> tuple[int, int]:
        sem = Semaphore(3)
        async with sem:
            inside = sem.available_permits
        return inside, sem.available_permits

    assert asyncio.run(main()) == (2, 3)


def test_cancelled_waiter_leaves_the_line() -> None:
    async def main() -> tuple[int, int]:
        sem = Semaphore(1)
        await sem.acquire_async()
        task = asyncio.ensure_future(sem.acquire_async())
        await asyncio.sleep(0)
        assert sem.queue_length == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        queued = sem.queue_length
        sem.release()
        return queued, sem.available_permits

    assert asyncio.run(main()) == (0, 1)


def test_a_permit_granted_to_a_cancelled_waiter_is_passed_on() -> None:
    async def main() -> list[str]:
        sem = Semaphore(1)
        await sem.acquire_async()
        order: list[str] = []

        async def waiter(name: str) -> None:
            await sem.acquire_async()
            order.append(name)

        doomed = asyncio.ensure_future(waiter("doomed"))
        await asyncio.sleep(0)
        heir = asyncio.ensure_future(waiter("heir"))
        await asyncio.sleep(0)
        sem.release()  # granted to "doomed", which has not resumed yet...
        doomed.cancel()  # ...and is cancelled before it does
        with pytest.raises(asyncio.CancelledError):
            await doomed
        await asyncio.wait_for(heir, WAIT)
        return order

    assert asyncio.run(main()) == ["heir"]


def test_wait_for_timeout_does_not_leak_a_permit() -> None:
    async def main() -> tuple[int, int]:
        sem = Semaphore(1)
        await sem.acquire_async()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sem.acquire_async(), 0.01)
        queued = sem.queue_length
        sem.release()
        return queued, sem.available_permits

    assert asyncio.run(main()) == (0, 1)


def test_threads_and_coroutines_share_one_fifo_line() -> None:
    sem = Semaphore(1)
    sem.acquire()
    order: list[str] = []
    thread_got = threading.Event()

    def thread_waiter() -> None:
        assert sem.acquire(timeout=WAIT)
        order.append("thread")
        thread_got.set()

    thread = threading.Thread(target=thread_waiter, daemon=True)
    thread.start()
    wait_until(lambda: sem.queue_length == 1)

    async def main() -> None:
        task = asyncio.ensure_future(sem.acquire_async())
        await asyncio.sleep(0)
        assert sem.queue_length == 2
        await asyncio.to_thread(sem.release)  # released from another thread: goes to the thread first
        assert await asyncio.to_thread(thread_got.wait, WAIT)
        assert not task.done()
        sem.release()
        await asyncio.wait_for(task, WAIT)
        order.append("coroutine")

    asyncio.run(main())
    thread.join(WAIT)
    assert order == ["thread", "coroutine"]


def test_release_from_another_thread_wakes_a_coroutine() -> None:
    async def main() -> int:
        sem = Semaphore(1)
        await sem.acquire_async()
        task = asyncio.ensure_future(sem.acquire_async())
        await asyncio.sleep(0)
        releaser = threading.Thread(target=sem.release)
        releaser.start()
        await asyncio.wait_for(task, WAIT)
        releaser.join(WAIT)
        return sem.available_permits

    assert asyncio.run(main()) == 0


def test_a_waiter_whose_loop_is_closed_is_skipped() -> None:
    sem = Semaphore(1)
    sem.acquire()
    loop = asyncio.new_event_loop()
    task = loop.create_task(sem.acquire_async())
    loop.run_until_complete(asyncio.sleep(0))
    assert sem.queue_length == 1
    loop.close()  # the waiting coroutine can never resume now
    sem.release()
    assert sem.available_permits == 1
    assert sem.queue_length == 0
    del task
