"""Contract of the node, lease and schedule transitions, on every store.

Two nodes sharing a store must agree on who is alive, who leads, and that a
schedule's fire time produces one task, ever.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from actors.clock import from_timestamp
from actors.errors import ValidationError
from actors.models import Schedule, Task, TaskStatus
from actors.storage.base import LEADER, Firing, TaskQuery, TaskStore

from .conftest import T0

MakeTask = Callable[..., Task]


# --- nodes ----------------------------------------------------------------------------


def test_a_heartbeat_registers_the_node_and_later_ones_move_its_expiry(store: TaskStore) -> None:
    store.heartbeat("node-a", T0, 30.0, {"host": "box", "pid": 7})
    store.heartbeat("node-b", T0 + 1, 30.0, {})
    store.heartbeat("node-a", T0 + 10, 30.0, {"host": "box", "pid": 7, "workers": 2})

    nodes = store.nodes()

    assert [node.node_id for node in nodes] == ["node-a", "node-b"]
    a = nodes[0]
    assert a.started_at == from_timestamp(T0)
    assert a.heartbeat_at == from_timestamp(T0 + 10)
    assert a.expires_at == from_timestamp(T0 + 40)
    assert a.info == {"host": "box", "pid": 7, "workers": 2}
    assert a.alive(from_timestamp(T0 + 39)) and not a.alive(from_timestamp(T0 + 40))


def test_leave_removes_only_that_node(store: TaskStore) -> None:
    store.heartbeat("node-a", T0, 30.0, {})
    store.heartbeat("node-b", T0, 30.0, {})
    store.leave("node-a")
    store.leave("never-registered")
    assert [node.node_id for node in store.nodes()] == ["node-b"]


def test_forget_nodes_deletes_rows_expired_before_the_cutoff(store: TaskStore) -> None:
    store.heartbeat("dead", T0, 5.0, {})
    store.heartbeat("alive", T0 + 100, 5.0, {})
    assert store.forget_nodes(T0 + 50) == 1
    assert [node.node_id for node in store.nodes()] == ["alive"]


def test_node_info_must_be_json(store: TaskStore) -> None:
    with pytest.raises(ValidationError, match="info"):
        store.heartbeat("node-a", T0, 30.0, {"bad": object()})
    assert store.nodes() == []


# --- leases ---------------------------------------------------------------------------


def test_a_lease_has_one_holder_until_it_expires(store: TaskStore) -> None:
    assert store.acquire_lease(LEADER, "node-a", T0, 10.0)
    assert not store.acquire_lease(LEADER, "node-b", T0 + 5, 10.0)
    assert store.lease_holder(LEADER, T0 + 5) == "node-a"
    assert store.acquire_lease(LEADER, "node-a", T0 + 9, 10.0)  # renewed to T0 + 19
    assert not store.acquire_lease(LEADER, "node-b", T0 + 15, 10.0)
    assert store.acquire_lease(LEADER, "node-b", T0 + 19, 10.0)  # expired: handed over
    assert store.lease_holder(LEADER, T0 + 20) == "node-b"
    assert not store.acquire_lease(LEADER, "node-a", T0 + 20, 10.0)


def test_an_expired_lease_has_no_holder(store: TaskStore) -> None:
    store.acquire_lease(LEADER, "node-a", T0, 10.0)
    assert store.lease_holder(LEADER, T0 + 10) is None
    assert store.lease_holder("other-lease", T0) is None


def test_only_the_holder_can_release_a_lease(store: TaskStore) -> None:
    store.acquire_lease(LEADER, "node-a", T0, 10.0)
    assert not store.release_lease(LEADER, "node-b")
    assert store.lease_holder(LEADER, T0) == "node-a"
    assert store.release_lease(LEADER, "node-a")
    assert store.acquire_lease(LEADER, "node-b", T0 + 1, 10.0)


def test_leases_of_different_names_are_independent(store: TaskStore) -> None:
    assert store.acquire_lease("one", "node-a", T0, 10.0)
    assert store.acquire_lease("two", "node-b", T0, 10.0)
    assert store.lease_holder("one", T0) == "node-a" and store.lease_holder("two", T0) == "node-b"


# --- schedules ------------------------------------------------------------------------


def schedule(key: str = "nightly", next_fire: float = T0 + 60, **changes: object) -> Schedule:
    values: dict[str, object] = {
        "key": key, "name": "REPORT", "cron": "0 3 * * *", "fields": {"metadata": {"kind": "weekly"}},
        "next_fire": from_timestamp(next_fire), "created_at": from_timestamp(T0),
    }
    values.update(changes)
    return Schedule(**values)  # type: ignore[arg-type]


def test_put_schedule_stores_and_returns_it(store: TaskStore) -> None:
    stored = store.put_schedule(schedule())
    assert stored == schedule(updated_at=from_timestamp(T0))
    assert store.schedules() == [stored]


def test_put_schedule_replaces_by_key_and_keeps_its_creation(store: TaskStore) -> None:
    store.put_schedule(schedule())
    replaced = store.put_schedule(schedule(cron=None, every=5.0, next_fire=T0 + 5,
                                           created_at=from_timestamp(T0 + 50), updated_at=from_timestamp(T0 + 50)))
    assert (replaced.cron, replaced.every) == (None, 5.0)
    assert replaced.next_fire == from_timestamp(T0 + 5)
    assert replaced.created_at == from_timestamp(T0)
    assert replaced.updated_at == from_timestamp(T0 + 50)
    assert len(store.schedules()) == 1


def test_put_schedule_if_absent_inserts_once_and_then_keeps_the_stored_one(store: TaskStore) -> None:
    first = store.put_schedule(schedule(), if_absent=True)
    assert store.schedules() == [first]
    kept = store.put_schedule(schedule(cron=None, every=5.0, next_fire=T0 + 5,
                                       updated_at=from_timestamp(T0 + 50)), if_absent=True)
    assert kept == first  # nothing changed: the period, the next fire time and the dates stay
    assert store.schedules() == [first]


def test_schedules_due_before_and_next_fire(store: TaskStore) -> None:
    assert store.next_fire() is None
    store.put_schedule(schedule("b-late", next_fire=T0 + 100))
    store.put_schedule(schedule("a-soon", next_fire=T0 + 10))
    assert [s.key for s in store.schedules()] == ["a-soon", "b-late"]
    assert [s.key for s in store.schedules(due_before=T0 + 10)] == ["a-soon"]
    assert store.schedules(due_before=T0) == []
    assert store.next_fire() == T0 + 10


def test_delete_schedule(store: TaskStore) -> None:
    store.put_schedule(schedule())
    assert store.delete_schedule("nightly")
    assert not store.delete_schedule("nightly")
    assert store.schedules() == [] and store.next_fire() is None


def test_schedule_fields_must_be_json(store: TaskStore) -> None:
    with pytest.raises(ValidationError, match="fields"):
        store.put_schedule(schedule(fields={"metadata": {"x": object()}}))
    assert store.schedules() == []


def firing(make_task: MakeTask, fire_time: float, expected: float, next_fire: float,
           key: str = "nightly") -> Firing:
    task = make_task(name="REPORT", run_at=from_timestamp(fire_time))
    return Firing(key=key, fire_time=fire_time, expected=expected, next_fire=next_fire, task=task)


def test_fire_creates_the_task_and_moves_the_schedule(store: TaskStore, make_task: MakeTask) -> None:
    store.put_schedule(schedule(next_fire=T0 + 60))
    shot = firing(make_task, T0 + 60, T0 + 60, T0 + 120)

    created = store.fire([shot], T0 + 61)

    assert created == [shot.task.id]
    task = store.get(shot.task.id)
    assert task is not None and task.status is TaskStatus.PENDING and task.name == "REPORT"
    (moved,) = store.schedules()
    assert moved.next_fire == from_timestamp(T0 + 120)
    assert moved.last_fire == from_timestamp(T0 + 60)


def test_a_fire_time_creates_one_task_ever(store: TaskStore, make_task: MakeTask) -> None:
    """Two leaders firing the same time (each with its own task) create one task."""
    store.put_schedule(schedule(next_fire=T0 + 60))
    first = firing(make_task, T0 + 60, T0 + 60, T0 + 120)
    second = firing(make_task, T0 + 60, T0 + 60, T0 + 120)

    assert store.fire([first], T0 + 61) == [first.task.id]
    assert store.fire([second], T0 + 62) == []

    assert store.get(second.task.id) is None
    assert [t.id for t in store.query(TaskQuery(name="REPORT"))] == [first.task.id]
    (moved,) = store.schedules()
    assert moved.next_fire == from_timestamp(T0 + 120)


def test_fire_moves_next_fire_only_from_the_expected_time(store: TaskStore, make_task: MakeTask) -> None:
    """A stale leader (it read next_fire before another leader moved it) cannot move it back."""
    store.put_schedule(schedule(next_fire=T0 + 60))
    store.fire([firing(make_task, T0 + 60, T0 + 60, T0 + 120)], T0 + 61)

    stale = firing(make_task, T0 + 60, T0 + 60, T0 + 90)
    assert store.fire([stale], T0 + 62) == []

    assert store.schedules()[0].next_fire == from_timestamp(T0 + 120)


def test_fire_catches_up_missed_times_in_one_batch(store: TaskStore, make_task: MakeTask) -> None:
    store.put_schedule(schedule(next_fire=T0 + 10))
    shots = [firing(make_task, T0 + 10, T0 + 10, T0 + 20), firing(make_task, T0 + 20, T0 + 20, T0 + 30),
             firing(make_task, T0 + 30, T0 + 30, T0 + 40)]

    created = store.fire(shots, T0 + 35)

    assert created == [shot.task.id for shot in shots]
    assert store.schedules()[0].next_fire == from_timestamp(T0 + 40)


def test_fire_of_a_deleted_schedule_still_records_once(store: TaskStore, make_task: MakeTask) -> None:
    shot = firing(make_task, T0 + 60, T0 + 60, T0 + 120, key="gone")
    assert store.fire([shot], T0 + 61) == [shot.task.id]
    assert store.fire([firing(make_task, T0 + 60, T0 + 60, T0 + 120, key="gone")], T0 + 62) == []
    assert store.schedules() == []


def test_fire_is_all_or_nothing(store: TaskStore, make_task: MakeTask) -> None:
    store.put_schedule(schedule(next_fire=T0 + 60))
    good = firing(make_task, T0 + 60, T0 + 60, T0 + 120)
    bad_task = make_task(name="REPORT", run_at=from_timestamp(T0 + 60), metadata={"x": 1})
    bad = Firing("other", T0 + 60, T0 + 60, T0 + 120,
                 task=Task(**{**bad_task.__dict__, "metadata": {"x": object()}}))

    with pytest.raises(ValidationError):
        store.fire([good, bad], T0 + 61)

    assert store.get(good.task.id) is None
    assert store.schedules()[0].next_fire == from_timestamp(T0 + 60)
    assert store.fire([good], T0 + 62) == [good.task.id]  # nothing of the failed batch was recorded


def test_prune_forgets_old_firings(store: TaskStore, make_task: MakeTask) -> None:
    store.put_schedule(schedule(next_fire=T0 + 60))
    store.fire([firing(make_task, T0 + 60, T0 + 60, T0 + 120)], T0 + 61)
    store.prune(T0 + 1000)
    again = firing(make_task, T0 + 60, T0 + 120, T0 + 180)
    assert store.fire([again], T0 + 1001) == [again.task.id]
