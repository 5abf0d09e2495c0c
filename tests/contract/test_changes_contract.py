"""The change feed (``changes_since``: what a follower of other nodes' changes reads), on every store.

Times are arguments (``T0`` and offsets); nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable

from actors.models import Task, TaskStatus
from actors.storage.base import ChangeCursor, Finish, TaskStore

from .conftest import T0

LEASE = 30.0
MakeTask = Callable[..., Task]


def ids(tasks: list[Task]) -> list[str]:
    return [task.id for task in tasks]


def test_none_gives_the_cursor_of_now_and_no_rows(store: TaskStore, make_task: MakeTask) -> None:
    assert store.changes_since(None) == ([], ChangeCursor(0, 0.0))
    store.add([make_task(), make_task()])
    rows, cursor = store.changes_since(None)
    assert rows == []
    assert store.changes_since(cursor) == ([], cursor)  # nothing changed since


def test_new_rows_then_running_then_finished_each_once(store: TaskStore, make_task: MakeTask) -> None:
    _, start = store.changes_since(None)
    first, second, third = make_task(), make_task(), make_task()
    store.add([first, second, third])
    rows, cursor = store.changes_since(start)
    assert ids(rows) == [first.id, second.id, third.id]
    assert all(row.status is TaskStatus.PENDING for row in rows)
    assert cursor.seq > start.seq

    claims = store.claim(["EMAIL"], 2, T0 + 1, "node-a", LEASE)
    rows, cursor = store.changes_since(cursor)
    assert sorted(ids(rows)) == sorted(c.task.id for c in claims)  # every RUNNING row
    assert {row.status for row in rows} == {TaskStatus.RUNNING}

    done = claims[0]
    store.finish([Finish(done.task.id, done.token, TaskStatus.SUCCEEDED, result={"ok": 1})], T0 + 2)
    rows, after = store.changes_since(cursor)
    by_id = {row.id: row for row in rows}
    assert set(by_id) == {c.task.id for c in claims}  # the finished one and the one still running
    assert (by_id[done.task.id].status, by_id[done.task.id].result) == (TaskStatus.SUCCEEDED, {"ok": 1})
    assert after.finished == T0 + 2 and after.seq == cursor.seq

    store.finish([Finish(claims[1].task.id, claims[1].token, TaskStatus.FAILED, error="boom")], T0 + 3)
    rows, last = store.changes_since(after)
    # finished at or after the cursor's time: the one finished at T0+2 again (a reader dedups), and the new one
    assert {row.id: row.status for row in rows} == {done.task.id: TaskStatus.SUCCEEDED,
                                                   claims[1].task.id: TaskStatus.FAILED}
    assert last.finished == T0 + 3


def test_the_limit_pages_new_rows_oldest_first(store: TaskStore, make_task: MakeTask) -> None:
    _, cursor = store.changes_since(None)
    tasks = [make_task() for _ in range(5)]
    store.add(tasks)
    pages: list[str] = []
    for _ in range(3):
        rows, cursor = store.changes_since(cursor, limit=2)
        pages += ids(rows)
    assert pages == ids(tasks)
    assert store.changes_since(cursor, limit=2)[0] == []


def test_the_feed_writes_nothing(store: TaskStore, make_task: MakeTask) -> None:
    task = make_task()
    store.add([task])
    before = store.get(task.id)
    store.changes_since(ChangeCursor(0, 0.0))
    assert store.get(task.id) == before
    assert store.counts()["pending"] == 1
