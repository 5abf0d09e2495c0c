"""ElizaOS batch queue (seed 001): the README's "ElizaOS — batch queue" table, row by row."""

from __future__ import annotations

import asyncio
import threading

import actors
from actors.testing import advance, drain


def test_priority_queue_three_fifo_tiers() -> None:
    queue: actors.PriorityQueue[tuple[str, int]] = actors.PriorityQueue(lambda item: item[0])
    for item in [("low", 1), ("normal", 1), ("high", 1), ("normal", 2), ("high", 2)]:
        queue.enqueue(item)
    assert queue.dequeue_batch(10) == [("high", 1), ("high", 2), ("normal", 1), ("normal", 2), ("low", 1)]


def test_an_invalid_priority_counts_as_normal() -> None:
    queue: actors.PriorityQueue[str] = actors.PriorityQueue(lambda item: "urgent" if item == "odd" else "low")
    queue.enqueue("a")
    queue.enqueue("odd")
    assert queue.stats() == {"high": 0, "normal": 1, "low": 1, "total": 2}
    assert queue.dequeue_batch(1) == ["odd"]


def test_max_size_and_on_pressure() -> None:
    warnings: list[tuple[int, int]] = []
    queue: actors.PriorityQueue[int] = actors.PriorityQueue(
        max_size=2, on_pressure=lambda q, item: item % 2 == 0, on_overflow_warning=lambda n, m: warnings.append((n, m)))
    assert [queue.enqueue(i) for i in (1, 3, 5, 6)] == [True, True, False, True]
    assert (len(queue), warnings) == (3, [(3, 2)])


def test_batch_processor_bounds_parallelism_and_retries() -> None:
    running = peak = 0
    lock = threading.Lock()
    calls: dict[int, int] = {}

    def process(item: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            calls[item] = calls.get(item, 0) + 1
            first = calls[item] == 1
        try:
            if item == 3 and first:
                raise ConnectionError("model busy")
            return item * 2
        finally:
            with lock:
                running -= 1

    processor = actors.BatchProcessor(process, max_parallel=2, sleep=lambda seconds: None)
    outcomes = processor.run(range(6))
    assert [o.success for o in outcomes] == [True] * 6
    assert [o.retry_count for o in outcomes] == [0, 0, 0, 1, 0, 0]
    assert peak <= 2


def test_semaphore_fifo_permits_for_threads_and_coroutines() -> None:
    semaphore = actors.Semaphore(1)
    assert semaphore.acquire(timeout=1)
    assert semaphore.available_permits == 0
    semaphore.release()

    async def both() -> int:
        async with semaphore:
            return semaphore.available_permits

    assert asyncio.run(both()) == 0
    assert actors.Semaphore(0.5).available_permits == 1  # normalised


def test_task_drain_find_or_create_repeat_row(supervisor: actors.Supervisor) -> None:
    runs: list[int] = []
    drain_ = actors.TaskDrain("EMBEDDING_DRAIN", 2.0, on_drain=lambda sup: runs.append(1) or 0)
    task_id = drain_.start(supervisor)
    task = supervisor.get_task(task_id)  # type: ignore[arg-type]
    assert task is not None
    assert (set(task.tags), task.max_failures, task.metadata["updateInterval"]) == ({"queue", "repeat"}, -1, 2000)
    again = actors.TaskDrain("EMBEDDING_DRAIN", 2.0, skip_register_worker=True)  # the row is found, not duplicated
    assert again.start(supervisor) == task_id
    advance(supervisor, 2.0)
    assert runs == [1]
    drain_.dispose(supervisor)
    assert supervisor.get_task(task_id) is None  # type: ignore[arg-type]


def test_affinity_drains_share_one_worker_name(supervisor: actors.Supervisor) -> None:
    drained: list[str] = []
    drains = actors.AffinityDrains("BATCHER_DRAIN")
    drains.start(supervisor)
    for key in ("room-a", "room-b"):
        drains.add(key, lambda sup, key=key: drained.append(key) or 1, interval=5)
    rows = supervisor.get_tasks(name="BATCHER_DRAIN")
    assert sorted(row.metadata["affinity_key"] for row in rows) == ["room-a", "room-b"]
    advance(supervisor, 5)
    assert sorted(drained) == ["room-a", "room-b"]
    drains.remove("room-a")
    assert [row.metadata["affinity_key"] for row in supervisor.get_tasks(name="BATCHER_DRAIN")] == ["room-b"]
    drains.dispose()


def test_batch_queue_enqueue_drain_process(supervisor: actors.Supervisor) -> None:
    batches: list[list[str]] = []
    queue: actors.BatchQueue[str] = actors.BatchQueue(
        "EMBEDDING_DRAIN", lambda text: None, batch_size=10, drain_interval=0.1,
        process_batch=lambda texts: batches.append(texts) or [actors.ItemOutcome(t, True) for t in texts])
    queue.start(supervisor)
    for i in range(25):
        queue.enqueue(f"memory {i}")
    for _ in range(3):
        advance(supervisor, 0.1)
    assert [len(batch) for batch in batches] == [10, 10, 5]
    queue.dispose()


def test_a_second_concurrent_drain_is_refused() -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(item: int) -> None:
        entered.set()
        release.wait(10)

    queue: actors.BatchQueue[int] = actors.BatchQueue("Q", slow, batch_size=5, drain_interval=1.0)
    queue.enqueue(1)
    queue.enqueue(2)
    first = threading.Thread(target=queue.drain)
    first.start()
    assert entered.wait(10)
    assert queue.drain() == 0  # refused, not queued
    release.set()
    first.join(10)
    queue.dispose()


def test_dispose_flushes_high_and_hands_back_the_rest(supervisor: actors.Supervisor) -> None:
    processed: list[str] = []
    queue: actors.BatchQueue[str] = actors.BatchQueue(
        "Q", processed.append, batch_size=10, drain_interval=60.0,
        get_priority=lambda item: "high" if item.startswith("!") else "normal")
    queue.start(supervisor)
    for item in ("!urgent", "later-1", "later-2"):
        queue.enqueue(item)
    assert queue.dispose() == ["later-1", "later-2"]
    assert processed == ["!urgent"]
    assert drain(supervisor).runs == 0
    assert supervisor.get_tasks(name="Q") == []
