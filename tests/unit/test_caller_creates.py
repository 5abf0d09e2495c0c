"""Creates insert from the caller's thread (``actors.runtime.creates``): the row is committed
before the supervisor handles anything, the supervisor claims it afterwards, a refused create
stores nothing, and creates from many threads land exactly once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

import actors
from actors import ManualClock, TaskStatus, TaskWorker
from actors.messages import Created, GetTask
from actors.models import Task
from actors.storage.memory import MemoryStore
from actors.testing import inline_supervisor


class Blocking(MemoryStore):
    """``get`` of the id ``"block"`` holds the supervisor's thread until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def get(self, task_id: str) -> Task | None:
        if task_id == "block":
            self.entered.set()
            assert self.release.wait(10)
        return super().get(task_id)


def test_a_create_is_stored_from_the_callers_thread_while_the_supervisor_is_busy() -> None:
    store = Blocking()
    node = inline_supervisor(store, clock=ManualClock(), workers=1)
    try:
        node.register_task_worker(TaskWorker("ADD", lambda ctx, options, task: 1))
        busy = node.ref.ask(GetTask("block"), block=False)
        assert store.entered.wait(10)  # the supervisor's thread is inside the store now
        task_id = node.create_task("ADD")  # returns although the actor handles nothing
        stored = MemoryStore.get(store, task_id)
        assert stored is not None and stored.status is TaskStatus.PENDING
        store.release.set()
        busy.get(timeout=10)
        assert node.wait(task_id, timeout=10) == 1  # the supervisor claimed it afterwards
    finally:
        store.release.set()
        node.stop()


def test_creates_the_supervisor_has_not_taken_yet_fold_into_one_created_message() -> None:
    store = Blocking()
    node = inline_supervisor(store, clock=ManualClock(), workers=1)
    told: list[object] = []
    tell = node._tell

    def counting(message: object) -> None:
        told.append(message)
        tell(message)

    node._tell = counting  # type: ignore[method-assign]
    try:
        node.register_task_worker(TaskWorker("ADD", lambda ctx, options, task: 1))
        busy = node.ref.ask(GetTask("block"), block=False)
        assert store.entered.wait(10)
        ids = [node.create_task("ADD") for _ in range(5)] + node.create_tasks([{"name": "ADD"}] * 3)
        created = [m for m in told if isinstance(m, Created)]
        assert len(created) == 1  # the supervisor took nothing meanwhile: one batch, still open
        store.release.set()
        busy.get(timeout=10)
        assert [node.wait(task_id, timeout=10) for task_id in ids] == [1] * 8  # all claimed from it
        assert created[0].stored.take()[0] == 8
        node.create_task("ADD")  # the batch was taken: the next create tells a new one
        assert len([m for m in told if isinstance(m, Created)]) == 2
    finally:
        store.release.set()
        node.stop()


def test_a_node_without_workers_tells_its_supervisor_nothing_of_its_creates() -> None:
    node = inline_supervisor(clock=ManualClock(), workers=0)
    told: list[object] = []
    node._tell = told.append  # type: ignore[method-assign]
    try:
        task_id = node.create_task("ADD")
        node.create_tasks([{"name": "ADD"}])
        assert told == []  # it claims nothing: a serving node on the store claims the rows
        stored = node.get_task(task_id)
        assert stored is not None and stored.status is TaskStatus.PENDING
    finally:
        node.stop()


def test_a_refused_create_stores_nothing() -> None:
    node = inline_supervisor(clock=ManualClock(), workers=0)
    try:
        node.register_task_worker(TaskWorker("PICKY", lambda ctx, options, task: 1,
                                             validate=lambda ctx, options: bool(options.get("ok"))))
        with pytest.raises(actors.ValidationError, match="priority"):
            node.create_task("PICKY", priority="urgent", metadata={"ok": True})
        with pytest.raises(actors.ValidationError, match=r"rejected by PICKY\.validate"):
            node.create_tasks([{"name": "PICKY", "metadata": {"ok": True}}, {"name": "PICKY"}])
        assert node.get_tasks() == []
    finally:
        node.stop()


class Failing(MemoryStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def add(self, tasks: Sequence[Task]) -> list[str]:
        raise self.error


@pytest.mark.parametrize("error", [actors.StoreError("disk full"), sqlite3.OperationalError("disk I/O error")])
def test_a_store_error_reaches_the_caller_as_store_error_and_nothing_is_stored(error: Exception) -> None:
    store = Failing(error)
    node = inline_supervisor(store, clock=ManualClock(), workers=0)
    try:
        with pytest.raises(actors.StoreError):
            node.create_task("ADD")
        assert node.get_tasks() == []
        assert node.stats()["health"]["ok"]  # the supervisor never saw it
    finally:
        node.stop()


def test_a_create_on_a_stopped_node_raises_node_stopped_and_stores_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "tasks.db")
    node = actors.Supervisor.start(db, workers=0)
    node.create_task("ADD")
    node.stop()
    with pytest.raises(actors.NodeStopped):
        node.create_task("ADD")
    with pytest.raises(actors.NodeStopped):
        node.create_tasks([{"name": "ADD"}])
    from actors.storage.sqlite import SQLiteStore

    store = SQLiteStore(db)
    try:
        assert store.counts()["pending"] == 1
    finally:
        store.close()


def test_creates_from_eight_threads_on_an_sqlite_file_land_exactly_once(tmp_path: Path) -> None:
    node = actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=0)
    ids: list[list[str]] = [[] for _ in range(8)]
    keyed: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def create(n: int) -> None:
        try:
            start.wait(10)
            for i in range(200):
                ids[n].append(node.create_task("ADD", metadata={"thread": n, "i": i}))
            keyed.append(node.create_task("ADD", idempotency_key="once"))
        except BaseException as exc:  # (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        every = [task_id for chunk in ids for task_id in chunk]
        assert len(every) == len(set(every)) == 1600
        assert len(set(keyed)) == 1  # the store's transaction decides the key's one task
        tasks = node.get_tasks(limit=None)
        assert len(tasks) == 1601
        seen = {(task.metadata["thread"], task.metadata["i"]) for task in tasks if task.metadata}
        assert seen == {(n, i) for n in range(8) for i in range(200)}
    finally:
        node.stop()


class Ticking(ManualClock):
    """A clock one second later at each read."""

    def now(self) -> float:
        return self.advance(1.0)


def test_the_tasks_of_one_create_share_its_creation_time() -> None:
    node = inline_supervisor(clock=Ticking(), workers=0)
    try:
        node.register_task_worker(TaskWorker("ADD", lambda ctx, options, task: 1))
        ids = node.create_tasks([{"name": "ADD"}, {"name": "ADD", "delay": 5}, {"name": "ADD"}])
        ids.append(node.create_task("ADD"))
        stamps = [(task.created_at.timestamp(), task.run_at.timestamp()) for task in map(node.get_task, ids)
                  if task is not None and task.created_at is not None and task.run_at is not None]
        first = stamps[0][0]
        assert stamps[:3] == [(first, first), (first, first + 5), (first, first)]
        assert stamps[3][0] > first  # the next create reads the clock again
    finally:
        node.stop()
