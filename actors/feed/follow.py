"""Events of tasks other nodes record in the shared store: the follower.

While somebody subscribes to a node's events (``EventBus.wanted`` not empty), one daemon
thread per node reads the store's change feed (``TaskStore.changes_since``, which writes
nothing: ``actors.storage.changes``) and turns what changed into events, derived from the
rows' states: ``created`` (a row new since the follower started), ``started`` (each attempt
the row's ``attempts`` moved past), ``progress``, ``succeeded`` / ``failed`` / ``cancelled``
/ ``paused`` (its final or new status), ``retrying`` (RUNNING before, PENDING again with an
error; or a FAILED / CANCELLED row PENDING again: a user's retry), ``resumed``. Each event's
data carries ``"source": "store"``. The bus drops the second of two events with the same key
(:func:`actors.feed.bus.dedup_key`): a change this node recorded itself (and emitted at once)
is not delivered again when the follower reads it back.

When it reads: every ``interval`` (0.1 s) it asks the store's ``data_version`` (SQLite:
``PRAGMA data_version``, which moves when another connection commits; PostgreSQL: the
LISTEN/NOTIFY count) and reads the feed when it moved, and at least every ``at_least``
(0.5 s) whatever it says (a PostgreSQL attempt end that needs no wake-up notifies nobody):
three indexed reads per look, only while somebody subscribes. A store that is not
``DataVersioned`` (memory: one process) is not followed.

Limits: a PENDING or PAUSED row paused or resumed by another node is not seen (the feed
has no index on such changes); a row created and pruned between two looks is missed; on
PostgreSQL a create committing more than ``SEQ_BEHIND`` rows late is missed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, NamedTuple

from ..models import Task, TaskStatus
from ..storage.base import TaskStore, data_versioned
from ..storage.changes import ChangeCursor
from .bus import EventBus
from .event import Event, event_at

__all__ = ["Follower", "derive"]

log = logging.getLogger("actors")

#: Rows behind the cursor read again (PostgreSQL identities may commit out of order).
SEQ_BEHIND = 32
#: Seconds behind the latest ``finished_at`` read again (commits in flight, clock steps).
SLACK = 2.0
#: Task states the follower remembers (the oldest forgotten first).
KNOWN = 20_000


class Seen(NamedTuple):
    """What the follower last knew of a row."""

    status: TaskStatus | None
    attempts: int
    progress: float | None
    updated: float | None


def _ts(moment: Any) -> float | None:
    return None if moment is None else float(moment.timestamp())


def derive(task: Task, before: Seen | None, origin: float) -> list[Event]:
    """The events between what was known of a row (``before``; None: never seen) and ``task``.

    A row never seen counts as new (``created``, attempts from 0) when it was created after
    ``origin`` (less ``SLACK``); an older one is taken as it was just before its current
    state (a RUNNING row's current attempt started; a finished row's end is new).
    """
    updated = _ts(task.updated_at)
    if before is not None and before == Seen(task.status, task.attempts, task.progress, updated):
        return []
    queue = task.queue or "default"
    at = event_at(updated if updated is not None else time.time())
    events: list[Event] = []

    def emit(kind: str, moment: Any = at, **data: Any) -> None:
        data["source"] = "store"
        events.append(Event(kind, task.id, task.name, queue, moment, data))

    if before is None:
        created = _ts(task.created_at)
        if created is not None and created >= origin - SLACK:
            emit("created", event_at(created))
            before = Seen(TaskStatus.PENDING, 0, None, created)
        else:
            before = Seen(None, task.attempts - (task.status is TaskStatus.RUNNING), task.progress, None)
    for attempt in range(before.attempts + 1, task.attempts + 1):
        if attempt > 1 and not task.recurring and (attempt - 1 > before.attempts
                                                    or before.status is TaskStatus.RUNNING):
            emit("retrying", attempt=attempt - 1)  # (an attempt whose end was not seen)
        emit("started", attempt=attempt)
    status = task.status
    if status is TaskStatus.RUNNING:
        if task.progress is not None and task.progress != before.progress:
            emit("progress", attempt=task.attempts, progress=task.progress)
    elif status is TaskStatus.SUCCEEDED and before.status is not status:
        emit("succeeded", attempt=task.attempts, result=task.result)
    elif status is TaskStatus.FAILED and before.status is not status:
        emit("failed", attempt=task.attempts, error=task.error)
    elif status is TaskStatus.CANCELLED and before.status is not status:
        emit("cancelled", attempt=task.attempts)
    elif status is TaskStatus.PAUSED and before.status is not status:
        emit("paused", attempt=task.attempts)
    elif status is TaskStatus.PENDING:
        if before.status is TaskStatus.RUNNING or task.attempts > before.attempts:
            if task.recurring and task.error is None:
                emit("succeeded", attempt=task.attempts, result=task.result)
            elif task.error is not None and task.attempts > 0:
                emit("retrying", attempt=task.attempts, error=task.error,
                     **({} if task.run_at is None else {"run_at": task.run_at.isoformat()}))
        elif before.status is TaskStatus.PAUSED:
            emit("resumed", attempt=task.attempts)
        elif before.status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            emit("retrying", attempt=task.attempts, manual=True)
    return events


class Follower:
    """The thread that reads the change feed while somebody subscribes (see the module).

    Args:
        store: the node's store (read from this thread: each store is safe for that).
        bus: the node's bus (the events go there; its ``wanted`` says whether to read).
        interval: seconds between two looks at ``data_version``.
        at_least: the longest between two reads of the feed while somebody subscribes.
    """

    def __init__(self, store: TaskStore, bus: EventBus, *, interval: float = 0.1, at_least: float = 0.5) -> None:
        self._store = store
        self._bus = bus
        self._interval = interval
        self._at_least = at_least
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._known: OrderedDict[str, Seen] = OrderedDict()
        self.looks = 0  # reads of the feed
        self.failures = 0

    @staticmethod
    def follows(store: TaskStore) -> bool:
        """Whether a store is followed (it can tell that another process wrote)."""
        return data_versioned(store)

    def wanted(self, kinds: frozenset[str]) -> None:
        """``EventBus.on_change``: start the thread at the first subscription (never blocks)."""
        if kinds and self._thread is None and not self._stop.is_set():
            self._bus.follow()
            self._thread = threading.Thread(target=self._run, name="actors-follow", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """End the thread (after its current read). Idempotent."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        cursor: ChangeCursor | None = None
        version: int | None = None
        last = 0.0
        origin = time.time()
        failing = False
        while not self._stop.wait(self._interval):
            if not self._bus.wanted:
                cursor = None  # nobody listens: start afresh when somebody does
                self._bus.following = False
                continue
            try:
                if cursor is None:
                    origin = time.time()
                    _, cursor = self._store.changes_since(None)
                    self._known.clear()
                    rows, _ = self._store.changes_since(cursor)  # what runs already: known, not news
                    for row in rows:
                        self._known[row.id] = Seen(row.status, row.attempts, row.progress, _ts(row.updated_at))
                    last = time.monotonic()
                    self._bus.following = True
                    continue
                seen = self._store.data_version() if data_versioned(self._store) else None
                if seen == version and seen is not None and time.monotonic() - last < self._at_least:
                    continue
                version, last = seen, time.monotonic()
                cursor = self._look(cursor, origin)
            except Exception:
                self.failures += 1
                if not failing:
                    log.warning("reading other nodes' changes failed; trying again", exc_info=True)
                failing = True
                continue
            failing = False

    def _look(self, cursor: ChangeCursor, origin: float) -> ChangeCursor:
        """One read of the feed; the events to the bus; the next cursor."""
        self.looks += 1
        behind = ChangeCursor(max(0, cursor.seq - SEQ_BEHIND), cursor.finished - SLACK)
        rows, got = self._store.changes_since(behind)
        present = {row.id for row in rows}
        left = [task_id for task_id, seen in self._known.items()
                if seen.status is TaskStatus.RUNNING and task_id not in present]
        if left:  # RUNNING before, neither RUNNING nor finished now: retrying, released, paused, deleted
            found = self._store.get_many(left)
            rows += list(found.values())
            for task_id in left:
                if task_id not in found:
                    self._known.pop(task_id, None)
        events: list[Event] = []
        for row in rows:
            events += derive(row, self._known.get(row.id), origin)
            self._known[row.id] = Seen(row.status, row.attempts, row.progress, _ts(row.updated_at))
            self._known.move_to_end(row.id)
        while len(self._known) > KNOWN:
            self._known.popitem(last=False)
        if events:
            self._bus.emit(events)
        return ChangeCursor(max(cursor.seq, got.seq), max(cursor.finished, got.finished))
