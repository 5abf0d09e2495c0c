"""The change feed of a store: ``TaskStore.changes_since(cursor, limit)``, what a follower of
other nodes' changes reads (``actors.feed.follow``: events of tasks other nodes record).

Kernel (stdlib only). The feed writes nothing: it reads what the store already keeps, through
indexes it already has — new rows by ``seq`` (the primary key, in commit order on SQLite),
every RUNNING row (a set bounded by the nodes' capacity), and rows finished since a time (the
``finished_at`` index the pruner uses). So the hot path pays nothing for it, subscribed or not.
What it cannot see: a PENDING or PAUSED row changed in place (a pause, a resume, a user's
retry, an attempt end that retries) — the follower asks for the rows it saw RUNNING that left
the RUNNING set by id, which covers retries; pauses and resumes of waiting tasks are seen
only on the node that made them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ..models import Task

__all__ = ["CHANGES_LIMIT", "ChangeCursor", "collect_changes"]

#: Rows of each part (new, finished) one ``changes_since`` returns at most, by default.
CHANGES_LIMIT = 500


class ChangeCursor(NamedTuple):
    """Where a reader of the change feed is: the highest ``seq`` of a row it has seen created,
    and the latest ``finished_at`` (epoch seconds) it has seen."""

    seq: int
    finished: float


def collect_changes(new: Iterable[tuple[int, Task]], running: Iterable[Task], finished: Iterable[Task],
                    cursor: ChangeCursor) -> tuple[list[Task], ChangeCursor]:
    """``changes_since``'s answer from its three reads (each store runs them its own way):
    the tasks, each once (new rows first, by ``seq``), and the cursor to pass next (never lower
    than ``cursor``)."""
    out: dict[str, Task] = {}
    seq, latest = cursor
    for row_seq, task in new:
        seq = max(seq, row_seq)
        out[task.id] = task
    for task in running:
        out.setdefault(task.id, task)
    for task in finished:
        if task.finished_at is not None:
            latest = max(latest, task.finished_at.timestamp())
        out[task.id] = task
    return list(out.values()), ChangeCursor(seq, latest)
