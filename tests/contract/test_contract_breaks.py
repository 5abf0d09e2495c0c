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
