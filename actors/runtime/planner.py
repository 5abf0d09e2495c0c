"""The claim planner: every decision about *when* the supervisor claims, and how much.

Pure: no threads, no store, no pykka. The supervisor tells it what happened and asks
it what to claim; it answers with :class:`PlannedClaim`\\ s (a kind of worker and the
store's ``ClaimRequest``), and with the time the scheduler should wake for due work.

Inputs:

- capacity: ``slots`` (claims a kind may hold) and ``pool`` (its worker actors), fixed;
  the claims held per kind (:meth:`ClaimPlanner.took`, :meth:`ClaimPlanner.dropped`)
  and the claims about to be dropped (``freed``: attempt ends being recorded);
- the registered worker names per kind (:meth:`ClaimPlanner.workers`);
- what the store said is due next (:meth:`ClaimPlanner.known`), and the events that
  make work due: a create or retry due at a time (:meth:`ClaimPlanner.due_at`), any
  change that may have made something due (:meth:`ClaimPlanner.changed`), a write by
  another process (:meth:`ClaimPlanner.external`).

Outputs: :meth:`ClaimPlanner.plan` (the claims to make now), :meth:`ClaimPlanner.next_wake`
(when to tick for due work), :meth:`ClaimPlanner.look` / :meth:`ClaimPlanner.look_owed`
(whether to ask the store for its next due time now), :meth:`ClaimPlanner.pump` (whether
to send the supervisor a ``Pump``: one claim for a burst of creates).

The rules:

- a kind claims only when something of it may be due: ``claim_after[kind]`` is set to
  infinity when a claim came back short (nothing else is due), and lowered by every
  event that makes a task due; a change or another process's write clears it;
- a kind has no room (it waits for the next attempt end, which claims in the same
  transaction) while every slot is held, or while every worker of the kind has a task
  and the last claim found no backlog;
- while no kind has room (``saturated``), looking up the next due time tells nothing the
  next attempt end would not: the look is owed, and made once a worker has room.

Example:
    >>> planner = ClaimPlanner(node_id="n", lease_ttl=30.0, slots={"process": 4}, pool={"process": 1})
    >>> planner.workers({"process": ["T"]}); planner.attached()
    >>> [(c.kind, c.request.limit) for c in planner.plan(now=0.0)]
    [('process', 4)]
    >>> planner.took("process", 1, 4)  # came back short: nothing else due
    >>> planner.plan(now=0.0)
    []
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import NamedTuple

from ..storage.base import ClaimRequest

__all__ = ["ClaimPlanner", "PlannedClaim"]


class PlannedClaim(NamedTuple):
    """One claim to make: ``request`` for the workers of ``kind``."""

    kind: str
    request: ClaimRequest


class ClaimPlanner:
    """When to claim, for one node (see the module docstring).

    Args:
        node_id, lease_ttl: the owner and lease of the claims it plans.
        slots: most claims held per kind of worker (``"process"`` / ``"thread"``).
        pool: worker actors per kind (0 or absent: only the slots bound the claims).
        serving: False for a client-only node: it plans no claim.
        queues: the queues this node claims from (None: every queue); each claim carries it.
    """

    def __init__(self, *, node_id: str, lease_ttl: float, slots: Mapping[str, int],
                 pool: Mapping[str, int] | None = None, serving: bool = True,
                 queues: Collection[str] | None = None) -> None:
        self._node_id = node_id
        self._ttl = lease_ttl
        self._slots = dict(slots)
        self._pool = dict(pool or {})
        self._serving = serving
        self._queues = None if queues is None else tuple(queues)
        self._names: dict[str, list[str]] = {}
        self.held: dict[str, int] = defaultdict(int)  # claims held per kind
        self._backlog: dict[str, bool] = defaultdict(bool)  # the last claim of a kind came back full
        self._claim_after: dict[str, float] = {}  # per kind: claim no sooner (absent: claim now)
        self._known_due = -math.inf  # the earliest due time the store told us, lowered by our writes
        self._look_pending = False  # a look-up was skipped while saturated
        self.pump_pending = False  # a Pump is on its way to the supervisor
        self._attached = False
        self._stopping = False

    # --- what happened ------------------------------------------------------------------

    def workers(self, names_by_kind: Mapping[str, list[str]]) -> None:
        """The registered worker names per kind (call :meth:`changed` too)."""
        self._names = {kind: list(names) for kind, names in names_by_kind.items()}

    def attached(self) -> None:
        """The worker actors are ready: claims may start."""
        self._attached = True

    def stop(self) -> None:
        """No more claims (the node stops)."""
        self._stopping = True

    def changed(self) -> None:
        """Anything may be due now (a change, a new worker, a worker back): claim, then look."""
        self._claim_after.clear()
        self._known_due = -math.inf

    def external(self) -> None:
        """Another process wrote to the store: every kind may claim again."""
        self._claim_after.clear()

    def due_at(self, when: float) -> None:
        """A task becomes due at ``when`` (a create, a retry, a recurring run, a change)."""
        self._lower(when)
        self._known_due = min(self._known_due, when)

    def known(self, due: float | None) -> None:
        """The store's next due time for our workers (None: nothing pending)."""
        self._known_due = math.inf if due is None else due
        if due is not None:
            self._lower(due)

    def took(self, kind: str, count: int, limit: int, held_back: bool = False) -> None:
        """A claim of ``kind`` with ``limit`` returned ``count`` claims (now held); ``held_back``:
        a queue limit kept due work out of it (it may be claimed after the next attempt end)."""
        self.held[kind] += count
        self._backlog[kind] = count == limit
        if count < limit and not held_back:
            self._claim_after[kind] = math.inf  # nothing else of this kind is due now

    def dropped(self, kind: str) -> None:
        """A claim of ``kind`` ended (recorded, released, cancelled)."""
        self.held[kind] -= 1

    def pumped(self) -> None:
        """The supervisor handles the ``Pump`` it was sent."""
        self.pump_pending = False

    def _lower(self, when: float) -> None:
        for kind, after in self._claim_after.items():
            self._claim_after[kind] = min(after, when)

    # --- what to do -----------------------------------------------------------------------

    def plan(self, now: float, freed: Mapping[str, int] | None = None) -> list[PlannedClaim]:
        """The claims to make at ``now``, one per kind that may claim: it has registered
        names, free capacity (``freed``: claims of each kind about to be dropped), room
        (:meth:`no_room`) and something that may be due."""
        if self._stopping or not self._attached or not self._serving:
            return []
        planned = []
        for kind, slots in self._slots.items():
            names = self._names.get(kind)
            if not names or now < self._claim_after.get(kind, -math.inf):
                continue
            held = self.held[kind] - (freed.get(kind, 0) if freed else 0)
            if self.no_room(kind, held):  # claim when a slot or a worker frees
                continue
            planned.append(PlannedClaim(kind, ClaimRequest(names, slots - held, self._node_id, self._ttl,
                                                                self._queues)))
        return planned

    def for_create(self, now: float, kind: str) -> PlannedClaim | None:
        """Tasks of ``kind`` created due now: the claim to make in the same transaction, if any.

        Work created one by one while every worker of the kind is busy then gathers in the
        store and is claimed with the next attempt end (one transaction), instead of a
        claim, a dispatch and a finish per task; it starts no later for that.
        """
        self._lower(now)  # these are due: the kind may claim
        return next((planned for planned in self.plan(now) if planned.kind == kind), None)

    def no_room(self, kind: str, held: int) -> bool:
        """True while new work of ``kind`` should wait for the next claim, with ``held`` claims
        of the kind in hand: every slot is full, or every worker of the kind has a task and
        the last claim found no backlog (it came back short)."""
        pool = self._pool.get(kind, 0)
        return held >= self._slots[kind] or (pool > 0 and not self._backlog[kind] and held >= pool)

    def saturated(self) -> bool:
        """True while no kind of worker can take more work: every kind with registered names
        has no room. A producer in another process then wakes the node once per create at
        the cost of one ``data_version`` read each, not a next-due query too."""
        if not self._serving or not self._attached:
            return False
        kinds = [kind for kind in self._slots if self._names.get(kind)]
        return bool(kinds) and all(self.no_room(kind, self.held[kind]) for kind in kinds)

    def look(self, now: float, *, external: bool, failing: bool) -> bool:
        """On a tick: True to look up the store's next due time now. A look is wanted after
        another process's write, once the known due time came, or while the last look
        failed; while saturated it is owed instead (:meth:`look_owed`)."""
        wanted = external or now >= self._known_due or failing
        if wanted and not self.saturated():
            self._look_pending = False
            return True
        self._look_pending = self._look_pending or wanted
        return False

    def look_owed(self) -> bool:
        """After attempt ends: True (once) to make the look a tick skipped while saturated."""
        if self._look_pending and not self.saturated():
            self._look_pending = False
            return True
        return False

    def next_wake(self, now: float) -> float:
        """When to tick for due work: the known due time if it is still ahead (else never:
        what is due now is claimed by the pump after each attempt end)."""
        return self._known_due if self._known_due > now else math.inf

    def pump(self) -> bool:
        """True when the supervisor should send itself a ``Pump`` (none is on its way), so a
        burst of creates is claimed in one transaction after the inbox, not one each."""
        if self.pump_pending:
            return False
        self.pump_pending = True
        return True
