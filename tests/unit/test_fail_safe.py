"""The supervisor survives a failing store: told messages never stop it, failed operations
are retried with back-off on the node's clock, kept writes are written later, and an
asked message answers with an ``actors.ActorsError`` (memory store, inline tasks, a
``ManualClock``: no sleeps).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Collection
from typing import Any

import pytest

import actors
from actors import ManualClock, TaskStatus, TaskWorker
from actors.messages import Tick
from actors.models import Claim
from actors.runtime import recorder
from actors.runtime.health import Health, backoff
from actors.storage.memory import MemoryStore
from actors.testing import eventually, inline_supervisor

START = 1_700_000_000.0


class FailingStore(MemoryStore):
    """A memory store whose named transitions raise ``StoreError`` for the next ``fail`` calls."""

    def __init__(self, *ops: str) -> None:
        super().__init__()
        self.ops = set(ops)
        self.fail = 0
        self.calls = 0
        self.lock = threading.Lock()

    def _maybe_fail(self, op: str) -> None:
        with self.lock:
            if op in self.ops and self.fail > 0:
                self.fail -= 1
                self.calls += 1
                raise actors.StoreError(f"{op}: database is locked")

    def claim(self, names: Collection[str], limit: int, now: float, owner: str,
              lease_ttl: float) -> list[Claim]:
        self._maybe_fail("claim")
        return super().claim(names, limit, now, owner, lease_ttl)

    def finish(self, finishes: Any, now: float) -> list[str]:
        self._maybe_fail("finish")
        return super().finish(finishes, now)

    def finish_and_claim(self, finishes: Any, now: float, request: Any) -> Any:
        self._maybe_fail("finish")
        return super().finish_and_claim(finishes, now, request)

    def next_due(self, names: Collection[str]) -> float | None:
        self._maybe_fail("next_due")
        return super().next_due(names)

    def append_logs(self, records: Any) -> None:
        self._maybe_fail("append_logs")
        super().append_logs(records)

    def release(self, claims: Any, now: float) -> int:
        self._maybe_fail("release")
        return super().release(claims, now)

    def get(self, task_id: str) -> Any:
        if "get" in self.ops and self.fail > 0:
            self.fail -= 1
            raise sqlite3.OperationalError("disk I/O error")
        if "get-bug" in self.ops:
            raise KeyError("a bug")
        return super().get(task_id)


def add(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["a"]) + int(options["b"])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def test_a_told_tick_whose_claim_fails_does_not_kill_the_node(clock: ManualClock) -> None:
    store = FailingStore("claim")
    node = inline_supervisor(store, clock=clock)
    try:
        node.register_task_worker(TaskWorker("ADD", add))
        task_id = node.create_task("ADD", metadata={"a": 1, "b": 2}, delay=5)
        clock.advance(5)
        store.fail = 1
        node.ref.tell(Tick(clock.now()))  # as the scheduler sends it: nobody waits for a reply
        health = eventually(lambda: node.stats()["health"]["ops"].get("claim"))
        assert health["ok"] is False and health["failures"] == 1 and "locked" in health["last_error"]
        assert health["retry_at"] == pytest.approx(clock.now() + 0.05)
        node.tick()  # the back-off is not over: no claim is tried
        assert store.calls == 1
        clock.advance(0.05)
        node.tick()
        assert node.wait(task_id, timeout=10) == 3
        assert node.stats()["health"]["ops"]["claim"]["ok"] is True
    finally:
        node.stop()


def test_a_store_failing_for_n_calls_then_working_runs_every_task_exactly_once(clock: ManualClock) -> None:
    store = FailingStore("claim", "finish", "next_due")
    node = inline_supervisor(store, clock=clock)
    runs: list[str] = []

    def record(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
        runs.append(task.id)
        return task.id

    try:
        node.register_task_worker(TaskWorker("REC", record))
        ids = node.create_tasks([{"name": "REC", "delay": 1} for _ in range(20)])
        store.fail = 7
        clock.advance(1)
        for _ in range(30):  # ticks 2 s apart: every back-off (at most 2 s) is over at each
            node.tick()  # (asked: a tick never raises, it records the failure and retries)
            clock.advance(2)
            if not store.fail and node.stats()["tasks"].get("succeeded") == 20:
                break
        assert store.fail == 0
        eventually(lambda: node.stats()["tasks"].get("succeeded") == 20)
        assert sorted(runs) == sorted(ids)  # each ran once
        for task_id in ids:
            task = node.get_task(task_id)
            assert task is not None and (task.status, task.attempts) == (TaskStatus.SUCCEEDED, 1)
        assert all(op["ok"] for op in node.stats()["health"]["ops"].values())
    finally:
        node.stop()


def test_a_failure_burst_is_logged_once(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    store = FailingStore("claim")
    node = inline_supervisor(store, clock=clock)
    try:
        node.register_task_worker(TaskWorker("ADD", add))
        node.create_task("ADD", metadata={"a": 1, "b": 2}, delay=1)
        store.fail = 5
        with caplog.at_level(logging.WARNING, logger="actors"):
            for _ in range(6):
                clock.advance(2)
                node.tick()
        failing = [r for r in caplog.records if "failing" in r.getMessage()]
        recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
        assert len(failing) == 1 and len(recovered) == 1
        assert node.stats()["health"]["ops"]["claim"]["total_failures"] == 5
    finally:
        node.stop()


def test_log_lines_the_store_refused_are_kept_and_written_later(clock: ManualClock) -> None:
    store = FailingStore("append_logs")
    node = inline_supervisor(store, clock=clock)

    def chatty(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
        ctx.log.info("hello")

    try:
        node.register_task_worker(TaskWorker("CHATTY", chatty))
        store.fail = 1
        task_id = node.create_task("CHATTY")
        node.wait(task_id, timeout=10)
        eventually(lambda: store.calls == 1)
        assert node.logs(task_id) == []
        clock.advance(1)
        node.tick()
        assert [record.message for record in node.logs(task_id)] == ["hello"]
    finally:
        node.stop()


def test_kept_events_are_bounded_and_the_dropped_ones_counted(clock: ManualClock,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "MAX_KEPT", 5)
    store = FailingStore("append_logs")
    node = inline_supervisor(store, clock=clock)

    def chatty(ctx: Any, options: dict[str, Any], task: actors.Task) -> None:
        for n in range(20):
            ctx.log.info("line %d", n)

    try:
        node.register_task_worker(TaskWorker("CHATTY", chatty))
        store.fail = 10**6
        task_id = node.create_task("CHATTY")
        assert node.wait(task_id, timeout=10) is None  # the attempt end is never dropped
        health = eventually(lambda: (h := node.stats()["health"])["dropped"] and h)
        assert health["dropped"] >= 15 and health["kept"] <= 5
    finally:
        node.stop()


def test_asked_messages_answer_with_our_errors_and_the_node_keeps_running(clock: ManualClock) -> None:
    store = FailingStore("get")
    node = inline_supervisor(store, clock=clock)
    try:
        task_id = node.create_task("ADD")
        store.fail = 1
        with pytest.raises(actors.StoreError, match="OperationalError: disk I/O error"):
            node.get_task(task_id)
        store.ops = {"get-bug"}
        with pytest.raises(actors.ActorsError, match="KeyError") as caught:
            node.get_task(task_id)
        assert not isinstance(caught.value, KeyError)
        store.ops = set()
        assert node.get_task(task_id) is not None
    finally:
        node.stop()


def test_wait_on_a_failing_store_raises_store_error(clock: ManualClock) -> None:
    store = FailingStore("get")
    node = inline_supervisor(store, clock=clock)
    try:
        task_id = node.create_task("ADD", delay=60)
        store.fail = 1
        with pytest.raises(actors.StoreError):
            node.wait(task_id, timeout=5)
    finally:
        node.stop()


def test_back_off_doubles_to_its_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3, 6, 7, 20)] == [0.05, 0.1, 0.2, 1.6, 2.0, 2.0]
    health = Health()
    assert health.failed("claim", RuntimeError("x"), 0.0) == 0.05
    assert health.failed("claim", RuntimeError("x"), 0.05) == pytest.approx(0.15)
    assert health.next_retry() == pytest.approx(0.15)
    assert health.failing("claim") and not health.ready("claim", 0.1)
    health.succeeded("claim", 0.2)
    assert health.ok and health.next_retry() is None and health.ops["claim"].failures == 0

