"""The recorder: what the workers report, on its way to the store, in batches.

Executor events (attempt ends, progress, metadata, logs) are buffered as they arrive;
the supervisor sends itself one ``Flush`` per burst (:meth:`Recorder.add` says when),
so events that arrive together share one write each. Claims given back (releases) go
the same way.

Keep and retry (issue "The node never dies"): a write that fails is counted in the
health (``actors.runtime.health``) and its events are kept at the head of the buffer,
written again on a later tick at the operation's retry time; the rows stay RUNNING
under this node's lease meanwhile, so nothing is lost. Attempt ends and releases are
always kept (at most one per claim held); progress / metadata / logs up to
``MAX_KEPT``, beyond which the oldest are dropped (counted in ``dropped``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ..clock import Clock
from ..messages import JobDone, JobLog, JobMetadata, JobProgress
from ..storage.base import Continuation, LogRecord, TaskStore
from .health import Health

__all__ = ["MAX_KEPT", "Batch", "Recorder"]

log = logging.getLogger("actors")

#: Most progress / metadata / log events kept while the store is unavailable
#: (attempt ends are always kept: at most one per claim held).
MAX_KEPT = 10_000


class Batch(NamedTuple):
    """One flush's events, by what they write."""

    done: list[JobDone]
    progress: dict[tuple[str, str], float]  # (task id, token) -> the last value reported
    metadata: list[JobMetadata]
    logs: list[JobLog]


class Recorder:
    """Buffered worker events and releases, written in batches with keep-and-retry.

    Args:
        store: the node's store (called from the supervisor's thread only).
        clock: the node's clock.
        health: the supervisor's operation health (``finish``, ``write``, ``release``).
        failed: ``failed(op, exc)``: the supervisor counts a failure and wakes its
            scheduler for the retry.
    """

    def __init__(self, store: TaskStore, clock: Clock, health: Health,
                 failed: Callable[[str, BaseException], None]) -> None:
        self._store = store
        self._clock = clock
        self._health = health
        self._failed = failed
        self.buffer: list[Any] = []
        self.pending = False  # a Flush is on its way
        self.unreleased: list[tuple[str, str]] = []  # claims to give back, kept while the store fails
        self.dropped = 0  # events dropped because more than MAX_KEPT were kept

    def add(self, events: Iterable[Any]) -> bool:
        """Buffer reported events; True when the caller should send the ``Flush`` (none pending)."""
        self.buffer.extend(events)
        if self.pending:
            return False
        self.pending = True
        return True

    def take(self) -> Batch:
        """Empty the buffer (the ``Flush`` is being handled), its events by kind."""
        self.pending = False
        events, self.buffer = self.buffer, []
        batch = Batch([], {}, [], [])
        for event in events:
            if isinstance(event, JobDone):
                batch.done.append(event)
            elif isinstance(event, JobProgress):
                batch.progress[(event.task_id, event.token)] = event.progress
            elif isinstance(event, JobMetadata):
                batch.metadata.append(event)
            elif isinstance(event, JobLog):
                batch.logs.append(event)
        return batch

    def write_reports(self, batch: Batch, now: float) -> list[Any]:
        """Write the batch's metadata, progress and logs; returns the events not written."""
        retry: list[Any] = []
        if batch.metadata and not self.write("write", now, self._merge_all, batch.metadata, now):
            retry += batch.metadata
        if batch.progress and not self.write("write", now, self._progress_all, batch.progress, now):
            retry += [JobProgress(task_id, token, value) for (task_id, token), value in batch.progress.items()]
        if batch.logs:
            records = [LogRecord(e.task_id, e.attempt, e.created, e.level, e.message, e.iteration)
                       for e in batch.logs]
            if not self.write("write", now, self._store.append_logs, records):
                retry += batch.logs
        return retry

    def continued(self, continuations: list[Continuation], now: float) -> list[str]:
        """Write attempts that returned ``actors.Continue`` (``TaskStore.continue_tasks``): each
        task's next iteration, committed with the end of its attempt. Returns the ids applied
        (the others were stale). The "continued" change of each of them (its ``continued``
        event) is known here. Raises what the store raises (the caller keeps the events)."""
        return self._store.continue_tasks(continuations, now)

    def write(self, op: str, now: float, write: Callable[..., Any], *args: Any) -> bool:
        """One write; False (counted in the health) if it failed."""
        try:
            write(*args)
        except Exception as exc:
            self._failed(op, exc)
            return False
        self._health.succeeded(op, now)
        return True

    def _merge_all(self, events: list[JobMetadata], now: float) -> None:
        for index, event in enumerate(events):
            try:
                self._store.merge_metadata(event.task_id, event.token, event.values, now)
            except Exception:
                del events[:index]  # the ones written are not kept for the retry
                raise

    def _progress_all(self, progress: dict[tuple[str, str], float], now: float) -> None:
        for (task_id, token), value in list(progress.items()):
            self._store.set_progress(task_id, token, value, now)
            del progress[(task_id, token)]  # written: not kept for the retry

    def keep(self, events: list[Any]) -> None:
        """Put events back at the head of the buffer; beyond ``MAX_KEPT`` the oldest events
        that are not attempt ends are dropped (counted in ``stats()["health"]["dropped"]``)."""
        self.buffer[:0] = events
        excess = len(self.buffer) - MAX_KEPT
        if excess <= 0:
            return
        kept: list[Any] = []
        for event in self.buffer:
            if excess > 0 and not isinstance(event, JobDone):
                excess -= 1
                self.dropped += 1
                continue
            kept.append(event)
        self.buffer = kept
        log.warning("store unavailable: %d kept progress/metadata/log/create event(s) dropped so far "
                    "(more than %d waited)", self.dropped, MAX_KEPT)

    def reported(self) -> set[str]:
        """Ids of the tasks whose attempt end waits in the buffer."""
        return {event.task_id for event in self.buffer if isinstance(event, JobDone)}

    # --- releases ------------------------------------------------------------------------

    def release(self, pairs: Iterable[tuple[str, str]], *, force: bool = False) -> None:
        """Give ``(task id, token)`` claims back to the store (kept while it fails).
        ``force``: try now even during a back-off."""
        self.unreleased.extend(pairs)
        self.write_releases(force=force)

    def write_releases(self, *, force: bool = False) -> None:
        """Try the kept releases again (at their retry time, unless ``force``)."""
        now = self._clock.now()
        if not self.unreleased or not (force or self._health.ready("release", now)):
            return
        pairs, self.unreleased = self.unreleased, []
        if not self.write("release", now, self._store.release, pairs, now):
            self.unreleased[:0] = pairs

    @property
    def kept(self) -> int:
        """Events and releases waiting for the store."""
        return len(self.buffer) + len(self.unreleased)
