"""Store transitions added for issue 11 (counts per queue; the pending run moved by a new
interval), on every store. Times are arguments; nothing sleeps."""

from __future__ import annotations

from collections.abc import Callable

from actors.models import Task, TaskStatus
from actors.storage.base import Finish, TaskStore

T0 = 1_700_000_000.0
LEASE = 30.0
MakeTask = Callable[..., Task]


def test_counts_by_queue_counts_each_status_per_queue(store: TaskStore, make_task: MakeTask) -> None:
    assert store.counts_by_queue() == {}
    emails = [make_task(name="SEND", queue="emails") for _ in range(3)]
    plain = [make_task(name="SEND"), make_task(name="SEND", queue="default")]
    store.add([*emails, *plain])
    store.pause(emails[2].id, T0)
    [claim] = store.claim(["SEND"], 1, T0 + 1, "node", LEASE)
    zero = {status.value: 0 for status in TaskStatus}
    counts = store.counts_by_queue()
    assert set(counts) == {"emails", "default"}
    assert counts["default"] == {**zero, "pending": 2}  # None counts under "default"
    assert counts["emails"] == {**zero, "running": 1, "pending": 1, "paused": 1}
    assert claim.task.queue == "emails"
    store.finish([Finish(claim.task.id, claim.token, TaskStatus.SUCCEEDED)], T0 + 2)
    assert store.counts_by_queue()["emails"] == {**zero, "succeeded": 1, "pending": 1, "paused": 1}
    assert sum(sum(by_status.values()) for by_status in store.counts_by_queue().values()) == 5


def _run_at(store: TaskStore, task_id: str) -> float:
    task = store.get(task_id)
    assert task is not None and task.run_at is not None
    return task.run_at.timestamp()


def test_a_new_interval_counts_from_the_creation_of_a_task_that_never_ran(store: TaskStore,
                                                                         make_task: MakeTask) -> None:
    task = make_task(name="TICK", update_interval=100.0)  # created at T0, due at T0 + 100
    store.add([task])
    assert _run_at(store, task.id) == T0 + 100
    assert store.update(task.id, {"update_interval": 50.0}, T0 + 10).run_at.timestamp() == T0 + 50  # type: ignore[union-attr]
    store.update(task.id, {"update_interval": 0.1}, T0 + 10)
    assert _run_at(store, task.id) == T0 + 10  # creation + 0.1 is past: due now, never earlier
    assert [c.task.id for c in store.claim(["TICK"], 5, T0 + 10, "node", LEASE)] == [task.id]


def test_a_new_interval_counts_from_the_end_of_the_last_run(store: TaskStore, make_task: MakeTask) -> None:
    task = make_task(name="TICK", update_interval=100.0)
    store.add([task])
    [claim] = store.claim(["TICK"], 1, T0 + 100, "node", LEASE)
    store.finish([Finish(task.id, claim.token, TaskStatus.PENDING, run_at=T0 + 205)], T0 + 105)
    store.update(task.id, {"update_interval": 20.0}, T0 + 110)
    assert _run_at(store, task.id) == T0 + 125  # last run ended at T0 + 105
    store.update(task.id, {"update_interval": 1.0}, T0 + 110)
    assert _run_at(store, task.id) == T0 + 110


def test_the_run_moves_only_for_a_changed_interval_of_a_pending_task(store: TaskStore,
                                                                    make_task: MakeTask) -> None:
    task = make_task(name="TICK", update_interval=100.0)
    store.add([task])
    store.update(task.id, {"update_interval": 100.0, "description": "same"}, T0 + 10)
    assert _run_at(store, task.id) == T0 + 100  # same interval: kept
    store.update(task.id, {"update_interval": 5.0, "run_at": T0 + 70}, T0 + 10)
    assert _run_at(store, task.id) == T0 + 70  # an explicit run_at wins
    store.pause(task.id, T0 + 11)
    store.update(task.id, {"update_interval": 1.0}, T0 + 12)
    assert _run_at(store, task.id) == T0 + 70  # not PENDING: kept
    store.resume(task.id, T0 + 13)
    one_shot = make_task(name="ONCE", delay=500)
    store.add([one_shot])
    store.update(one_shot.id, {"update_interval": 10.0}, T0 + 20)
    assert _run_at(store, one_shot.id) == T0 + 20  # now recurring: creation + 10 is past, due now
