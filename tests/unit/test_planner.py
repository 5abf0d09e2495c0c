"""The claim planner on its own: no threads, no store, no actor; time is an argument.

The planner-level forms of tests/unit/test_supervisor_claims.py (which keeps the
supervisor-level ones): what to claim with a create, with attempt ends, after a tick.
"""

from __future__ import annotations

import math

import pytest

from actors import ManualClock
from actors.runtime.planner import ClaimPlanner, PlannedClaim

START = 1_700_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def _planner(slots: int = 4, pool: int = 1, **kinds: list[str]) -> ClaimPlanner:
    """One process worker actor with ``slots`` claims (as ``_node`` of test_supervisor_claims)."""
    planner = ClaimPlanner(node_id="node", lease_ttl=30.0, slots={"process": slots, "thread": 4},
                           pool={"process": pool, "thread": 1})
    planner.workers(kinds or {"process": ["T"]})
    planner.attached()
    return planner


def _limits(planned: list[PlannedClaim]) -> list[tuple[str, int]]:
    return [(p.kind, p.request.limit) for p in planned]


def test_a_claim_asks_for_the_free_slots_of_each_kind_with_names(clock: ManualClock) -> None:
    planner = _planner(process=["T"], thread=["U"])
    planned = planner.plan(clock.now())
    assert _limits(planned) == [("process", 4), ("thread", 4)]
    request = planned[0].request
    assert (list(request.names), request.owner, request.lease_ttl) == (["T"], "node", 30.0)


def test_nothing_is_planned_before_attach_after_stop_or_on_a_client_only_node(clock: ManualClock) -> None:
    planner = ClaimPlanner(node_id="node", lease_ttl=30.0, slots={"process": 4})
    planner.workers({"process": ["T"]})
    assert planner.plan(clock.now()) == []  # the workers are not there yet
    planner.attached()
    assert _limits(planner.plan(clock.now())) == [("process", 4)]
    planner.stop()
    assert planner.plan(clock.now()) == []
    client = ClaimPlanner(node_id="node", lease_ttl=30.0, slots={"process": 4}, serving=False)
    client.workers({"process": ["T"]})
    client.attached()
    assert client.plan(clock.now()) == [] and not client.saturated()


def test_a_short_claim_stops_claims_of_its_kind_until_something_becomes_due(clock: ManualClock) -> None:
    planner = _planner(pool=0)
    planner.took("process", 1, 4)  # fewer than asked: nothing else is due
    assert planner.plan(clock.now()) == []
    planner.due_at(clock.now() + 5)  # a retry, a delayed create
    assert planner.plan(clock.now()) == []
    clock.advance(5)
    assert _limits(planner.plan(clock.now())) == [("process", 3)]  # the slot still held counts


@pytest.mark.parametrize("event", ["changed", "external"])
def test_a_change_or_another_process_write_lets_every_kind_claim_again(clock: ManualClock, event: str) -> None:
    planner = _planner(pool=0)
    planner.took("process", 0, 4)
    assert planner.plan(clock.now()) == []
    getattr(planner, event)()
    assert _limits(planner.plan(clock.now())) == [("process", 4)]


def test_a_due_task_created_while_a_worker_is_free_is_claimed_with_the_create(clock: ManualClock) -> None:
    planner = _planner()
    planner.took("process", 0, 4)  # the last claim found nothing
    planned = planner.for_create(clock.now(), "process")
    assert planned is not None and _limits([planned]) == [("process", 4)]


def test_work_created_while_the_worker_is_busy_waits_for_the_attempt_end(clock: ManualClock) -> None:
    planner = _planner()  # one worker actor, 4 slots
    planner.took("process", 1, 4)  # the worker is busy with it; no backlog
    assert planner.for_create(clock.now(), "process") is None  # the others wait in the store
    assert planner.saturated()
    # the attempt end frees the claim: its finish claims what waits, in the same transaction
    assert _limits(planner.plan(clock.now(), freed={"process": 1})) == [("process", 4)]


def test_a_full_claim_means_a_backlog_the_workers_may_hold_more_than_one_each(clock: ManualClock) -> None:
    planner = _planner(slots=4, pool=1)
    planner.took("process", 2, 2)  # came back full: more is due
    assert _limits(planner.plan(clock.now())) == [("process", 2)]
    planner.took("process", 2, 2)
    assert planner.plan(clock.now()) == [] and planner.no_room("process", 4)  # every slot held
    planner.dropped("process")
    assert _limits(planner.plan(clock.now())) == [("process", 1)]


def test_while_saturated_a_tick_after_a_write_elsewhere_owes_the_look_instead_of_making_it(
        clock: ManualClock) -> None:
    planner = _planner()
    planner.known(None)  # the store said: nothing pending
    planner.took("process", 1, 4)  # the only worker is busy
    for _ in range(3):
        clock.advance(0.001)
        planner.external()
        assert not planner.look(clock.now(), external=True, failing=False)  # no next-due query
        assert planner.next_wake(clock.now()) == math.inf  # and no "tick again now"
    assert not planner.look_owed()  # still busy
    planner.dropped("process")  # the attempt end: a worker has room
    assert planner.look_owed()
    assert not planner.look_owed()  # once


def test_with_a_worker_free_a_tick_after_a_write_elsewhere_looks(clock: ManualClock) -> None:
    planner = _planner()
    planner.known(None)
    assert not planner.look(clock.now(), external=False, failing=False)  # nothing new: no look
    assert planner.look(clock.now(), external=True, failing=False)
    assert planner.look(clock.now(), external=False, failing=True)  # the last look failed: again


def test_the_known_due_time_sets_the_wake_and_its_coming_the_look(clock: ManualClock) -> None:
    planner = _planner()
    later = clock.now() + 5
    planner.known(later)
    assert planner.next_wake(clock.now()) == later
    assert not planner.look(clock.now(), external=False, failing=False)
    planner.due_at(clock.now() + 2)  # a create due sooner lowers it
    assert planner.next_wake(clock.now()) == clock.now() + 2
    clock.advance(2)
    assert planner.next_wake(clock.now()) == math.inf  # it came: the pumps claim it
    assert planner.look(clock.now(), external=False, failing=False)


def test_a_change_makes_the_next_due_time_unknown(clock: ManualClock) -> None:
    planner = _planner()
    planner.known(clock.now() + 60)
    planner.changed()
    assert planner.look(clock.now(), external=False, failing=False)


def test_one_pump_per_burst(clock: ManualClock) -> None:
    planner = _planner()
    assert planner.pump() and not planner.pump() and planner.pump_pending
    planner.pumped()
    assert planner.pump()
