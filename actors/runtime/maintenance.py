"""The supervisor's periodic duties, each a named loop whose health ``stats()`` shows.

Runs inside the supervisor actor (the only writer of the store), driven by its
ticks; a loop that raises is logged and counted, and the others still run. The
loops, each with its own period:

==============  ==========================  ===============================================
loop            who                         what
==============  ==========================  ===============================================
``heartbeat``   every serving node          node row alive until now + lease_ttl; renews
                                            the leases of the tasks this node runs
``leader``      every serving node          takes or renews the leader lease (``LEADER``)
``reclaim``     every serving node          expired leases → PENDING (a dead node's tasks);
                                            runs when the earliest lease expires
``schedules``   the leader                  fires due schedules (one task per fire time)
``prune``       the leader                  old finished tasks, firings, dead node rows
``orphans``     every serving node          warns once per name no worker here can run
==============  ==========================  ===============================================

Pure scheduling arithmetic (``fire_times``) is separate from the store calls so
tests can check it without a clock.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from ..clock import from_timestamp, to_timestamp
from ..cron import Cron
from ..errors import ValidationError
from ..models import Schedule, Task, TaskStatus
from ..spec import build_task, check_text, coerce_spec, seconds
from ..storage.base import LEADER, Firing, TaskStore

__all__ = ["MAX_CATCH_UP", "LoopHealth", "Maintenance", "build_schedule", "fire_times", "next_fire_after"]

log = logging.getLogger("actors")

#: At most this many missed fire times of one schedule are fired late (the newest ones).
MAX_CATCH_UP = 10
#: Node rows dead for longer than this are forgotten.
FORGET_NODES_AFTER = 3600.0
PRUNE_EVERY = 3600.0
#: Seconds: how soon a schedule another process wrote is looked at (see ``schedules_changed``).
ELSEWHERE_LOOK = 1.0
#: Seconds between two counts of the tasks no worker here can run (a GROUP BY over pending rows).
ORPHANS_EVERY = 30.0
#: Seconds before a loop that failed (the store unreachable) runs again: no busy loop meanwhile.
RETRY_FAILED = 1.0


#: ``create_task`` fields a schedule refuses: it sets each firing's run time and identity itself.
_NOT_SCHEDULABLE = ("run_at", "delay", "update_interval", "idempotency_key", "id")
#: ``Task`` fields a schedule keeps for its firings (JSON values).
_KEPT = ("description", "tags", "metadata", "room_id", "world_id", "entity_id", "priority", "queue",
         "retry", "max_attempts", "max_failures", "timeout")


def build_schedule(name: str, *, cron: str | None, every: Any, key: str | None,
                   fields: Mapping[str, Any], now: float) -> Schedule:
    """A checked ``Schedule`` whose first fire time is the first one after ``now``.

    Raises:
        ValidationError: not exactly one of ``cron`` / ``every``, a bad expression or
            period, a bad key, a field a schedule cannot take (``run_at``, ``delay``,
            ``update_interval``, ``idempotency_key``), or a bad task field (named).
    """
    if (cron is None) == (every is None):
        raise ValidationError("cron", cron, "give exactly one of cron= and every=")
    for field in _NOT_SCHEDULABLE:
        if field in fields:
            raise ValidationError(field, fields[field], "a schedule sets each firing's run time itself")
    key = name if key is None else key
    if not isinstance(key, str) or not key:
        raise ValidationError("key", key, "must be a non-empty string")
    check_text("key", key)
    template = build_task(coerce_spec({"name": name, **fields}), task_id="schedule", now=now)
    kept = {field: getattr(template, field) for field in _KEPT}
    kept["tags"] = list(template.tags)
    if cron is not None:
        expression = Cron.parse(cron)
        text, period, first = expression.expression, None, expression.next_after(now)
    else:
        period = seconds("every", every, allow_zero=False)
        assert period is not None
        text, first = None, now + period
    stamp = from_timestamp(now)
    return Schedule(key=key, name=name, cron=text, every=period, fields=kept, next_fire=from_timestamp(first),
                    created_at=stamp, updated_at=stamp)


def next_fire_after(schedule: Schedule, when: float) -> float:
    """The schedule's first fire time strictly after ``when``."""
    if schedule.cron is not None:
        return Cron.parse(schedule.cron).next_after(when)
    assert schedule.every is not None
    return when + schedule.every


def fire_times(schedule: Schedule, now: float) -> tuple[list[float], float, int]:
    """The fire times due at ``now`` (oldest first, at most ``MAX_CATCH_UP``), the next
    fire time after them, and how many older missed times were skipped."""
    assert schedule.next_fire is not None
    first = to_timestamp(schedule.next_fire)
    if first > now:
        return [], first, 0
    if schedule.every is not None:
        count = math.floor((now - first) / schedule.every) + 1
        skipped = max(0, count - MAX_CATCH_UP)
        times = [first + schedule.every * k for k in range(skipped, count)]
        return times, first + schedule.every * count, skipped
    times = [first]
    skipped = 0
    after = next_fire_after(schedule, first)
    while after <= now:
        times.append(after)
        if len(times) > MAX_CATCH_UP:
            times.pop(0)
            skipped += 1
        after = next_fire_after(schedule, after)
    return times, after, skipped


@dataclass
class LoopHealth:
    """How one maintenance loop is doing."""

    runs: int = 0
    failures: int = 0
    last_run: float | None = None
    last_error: str | None = None
    ok: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "runs": self.runs, "failures": self.failures, "last_run": self.last_run,
                "last_error": self.last_error}


class Maintenance:
    """The periodic loops of one node (see the module docstring).

    Args:
        store: the node's store (called from the supervisor's thread only).
        node_id: this node's id in leases and the node table.
        lease_ttl: task lease, node heartbeat and leader lease length (seconds).
        max_crashes, retention, orphan_grace: as in ``SupervisorConfig``.
        info: what this node says about itself in the node table.
    """

    LOOPS = ("heartbeat", "leader", "reclaim", "schedules", "prune", "orphans")

    def __init__(self, store: TaskStore, *, node_id: str, lease_ttl: float, max_crashes: int,
                 retention: float, orphan_grace: float, started: float,
                 info: dict[str, Any] | None = None) -> None:
        self._store = store
        self._node = node_id
        self._ttl = lease_ttl
        self._max_crashes = max_crashes
        self._retention = retention
        self._orphan_grace = orphan_grace
        self._started = started
        self._info = info or {"host": socket.gethostname(), "pid": os.getpid()}
        self.health = {name: LoopHealth() for name in self.LOOPS}
        self.leader = False
        self._next_beat = -math.inf
        self._next_reclaim = -math.inf
        self._next_fire: float | None = -math.inf
        self._looked = -math.inf  # when the schedules were last read
        self.on_fired: Callable[[list[Task], list[str]], None] | None = None  # (the node's events)
        self._next_orphans = -math.inf
        self._next_prune = -math.inf
        self._warned_orphans: set[str] = set()

    # --- the clock of the loops ---------------------------------------------------------

    def next_wake(self) -> float:
        """When the next loop is due (the supervisor wakes its scheduler then)."""
        wake = min(self._next_beat, self._next_reclaim)
        if self.leader and self._next_fire is not None:
            wake = min(wake, self._next_fire)
        return wake

    def schedules_changed(self, *, elsewhere_at: float | None = None) -> None:
        """A schedule was added or changed here: look at the schedules on the next run.

        ``elsewhere_at``: another process wrote to the store at that time (a schedule,
        or much more often a task): look no sooner than ``ELSEWHERE_LOOK`` seconds after
        the last look, so a stream of other processes' writes costs one look a second,
        not one per write.
        """
        soon = -math.inf if elsewhere_at is None else max(elsewhere_at, self._looked + ELSEWHERE_LOOK)
        self._next_fire = soon if self._next_fire is None else min(self._next_fire, soon)

    def registered(self, name: str) -> None:
        """A worker for ``name`` now exists here: warn again if it is orphaned later."""
        self._warned_orphans.discard(name)

    @contextmanager
    def _loop(self, name: str, now: float) -> Iterator[None]:
        health = self.health[name]
        health.runs += 1
        health.last_run = now
        try:
            yield
        except Exception as exc:  # a loop's failure must not stop the others or the node
            health.failures += 1
            health.ok = False
            health.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("maintenance loop %r failed: %s", name, health.last_error)
        else:
            health.ok = True

    # --- running them ----------------------------------------------------------------------

    def run(self, now: float, *, holding: bool, worker_names: Collection[str]) -> list[str]:
        """Run every loop that is due at ``now``; returns the ids of tasks it made due
        (fired schedules, reclaimed leases) so the supervisor claims them."""
        due: list[str] = []
        if now >= self._next_beat:
            self._next_beat = now + self._ttl / 3
            with self._loop("heartbeat", now):
                self._store.heartbeat(self._node, now, self._ttl, self._info)
                if holding:
                    self._store.renew(self._node, now, self._ttl)
            with self._loop("leader", now):
                was = self.leader
                self.leader = self._store.acquire_lease(LEADER, self._node, now, self._ttl)
                if self.leader and not was:
                    log.info("node %s is the leader (fires schedules, prunes)", self._node)
                    self._next_fire = -math.inf
        if now >= self._next_reclaim:
            self._next_reclaim = now + RETRY_FAILED  # replaced when the loop succeeds
            with self._loop("reclaim", now):
                due += self._reclaim(now)
        if self.leader and self._next_fire is not None and now >= self._next_fire:
            self._next_fire = now + RETRY_FAILED
            with self._loop("schedules", now):
                due += self._fire(now)
        if self.leader and now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY
            with self._loop("prune", now):
                pruned = self._store.prune(now - self._retention)
                self._store.forget_nodes(now - FORGET_NODES_AFTER)
                if pruned:
                    log.info("pruned %d finished task(s) older than the retention", pruned)
        if now - self._started >= self._orphan_grace and now >= self._next_orphans:
            self._next_orphans = now + ORPHANS_EVERY
            with self._loop("orphans", now):
                self._check_orphans(worker_names)
        return due

    def _reclaim(self, now: float) -> list[str]:
        reclaimed = self._store.reclaim_expired(now, self._max_crashes)
        for task in reclaimed:
            log.warning("task %s (%s): lease expired; %s", task.id, task.name,
                        "quarantined" if task.status is TaskStatus.FAILED else "back to pending")
        expiry = self._store.next_lease_expiry()
        # our own leases are renewed before they expire; wake for someone else's
        self._next_reclaim = min(now + self._ttl / 3, expiry) if expiry is not None and expiry > now \
            else now + self._ttl / 3
        return [task.id for task in reclaimed if task.status is TaskStatus.PENDING]

    def _fire(self, now: float) -> list[str]:
        firings: list[Firing] = []
        for schedule in self._store.schedules(due_before=now):
            times, after, skipped = fire_times(schedule, now)
            if skipped:
                log.warning("schedule %r: %d missed fire time(s) skipped (only the last %d fire late)",
                            schedule.key, skipped, MAX_CATCH_UP)
            assert schedule.next_fire is not None
            expected = to_timestamp(schedule.next_fire)
            for index, fire_time in enumerate(times):
                following = times[index + 1] if index + 1 < len(times) else after
                firings.append(Firing(schedule.key, fire_time, expected, following,
                                      self._firing_task(schedule, fire_time, now)))
                expected = following
        created = self._store.fire(firings, now) if firings else []
        if created and self.on_fired is not None:
            fired = [firing.task for firing in firings if firing.task.id in set(created)]
            self.on_fired(fired, [task.id for task in fired])
        self._next_fire = self._store.next_fire()
        self._looked = now
        return created

    @staticmethod
    def _firing_task(schedule: Schedule, fire_time: float, now: float) -> Task:
        spec = coerce_spec({"name": schedule.name, **schedule.fields})
        return replace(build_task(spec, task_id=uuid.uuid4().hex, now=now), run_at=from_timestamp(fire_time))

    def _check_orphans(self, worker_names: Collection[str]) -> None:
        for name, count in self._store.pending_names().items():
            if name not in worker_names and name not in self._warned_orphans:
                self._warned_orphans.add(name)
                log.warning("%d pending task(s) named %r: no worker registered on this node; "
                            "they wait (never deleted) until one is", count, name)

    def leave(self) -> None:
        """A graceful stop: give up the leader lease and remove this node's row."""
        for name, call in (("leader", lambda: self._store.release_lease(LEADER, self._node)),
                           ("heartbeat", lambda: self._store.leave(self._node))):
            with self._loop(name, self._started):
                call()
        self.leader = False

    def stats(self) -> dict[str, Any]:
        return {name: health.as_dict() for name, health in self.health.items()}

