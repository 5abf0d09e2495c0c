"""The queue contract (``set_queue`` / ``queues`` and the limits a claim obeys), on every store.

Times are arguments (``T0`` and offsets); nothing sleeps.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from actors.errors import ValidationError
from actors.models import QueueInfo, Task, TaskStatus
from actors.storage.base import ClaimRequest, Finish, TaskStore

from .conftest import T0

LEASE = 30.0
MakeTask = Callable[..., Task]


def claim(store: TaskStore, now: float = T0, limit: int = 10, owner: str = "n1",
          queues: list[str] | None = None) -> list[str]:
    return [c.task.id for c in store.claim(["EMAIL"], limit, now, owner, LEASE, queues)]


def add(store: TaskStore, make_task: MakeTask, count: int, **fields: object) -> list[str]:
    return store.add([make_task(**fields) for _ in range(count)])


def test_set_queue_keeps_what_is_not_passed_and_none_removes_a_limit(store: TaskStore) -> None:
    info = store.set_queue("emails", {"concurrency": 5, "key_concurrency": 1, "rate_limit": "100/m"})
    assert info == QueueInfo("emails", 5, 1, (100, 60.0), False, info.counts, 0)
    info = store.set_queue("emails", {"paused": True, "concurrency": None})
    assert (info.concurrency, info.key_concurrency, info.rate_limit, info.paused) == (None, 1, (100, 60.0), True)
    assert [q.name for q in store.queues()] == ["emails"]
    assert store.set_queue("emails", {"rate_limit": (3, 2.5)}).rate_limit == (3, 2.5)


@pytest.mark.parametrize(("changes", "field"), [
    ({"concurrency": -1}, "concurrency"), ({"concurrency": 0}, "concurrency"), ({"concurrency": True}, "concurrency"),
    ({"key_concurrency": "2"}, "key_concurrency"), ({"rate_limit": "x"}, "rate_limit"),
    ({"rate_limit": "0/s"}, "rate_limit"), ({"rate_limit": (5, 0)}, "rate_limit"), ({"rate_limit": 5}, "rate_limit"),
    ({"paused": 1}, "paused"), ({"nope": 1}, "nope"),
])
def test_bad_settings_name_the_field_and_store_nothing(store: TaskStore, changes: dict[str, object],
                                                      field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        store.set_queue("q", changes)
    assert caught.value.field == field
    assert store.queues() == []


def test_queues_lists_declared_queues_and_queues_with_tasks_with_counts(store: TaskStore,
                                                                       make_task: MakeTask) -> None:
    add(store, make_task, 2, queue="a")
    add(store, make_task, 1)
    store.set_queue("b", {"concurrency": 1})
    claim(store, limit=1)
    by_name = {q.name: q for q in store.queues()}
    assert sorted(by_name) == ["a", "b", "default"]
    assert by_name["a"].counts["pending"] + by_name["a"].counts["running"] == 2
    assert by_name["b"].counts.get("pending", 0) == 0 and by_name["b"].concurrency == 1
    assert sum(q.running for q in by_name.values()) == 1


def test_a_concurrency_one_queue_never_takes_a_second_while_one_runs(store: TaskStore, make_task: MakeTask) -> None:
    store.set_queue("solo", {"concurrency": 1})
    solo = add(store, make_task, 3, queue="solo")
    free = add(store, make_task, 2, queue="free")
    first = store.claim(["EMAIL"], 10, T0, "n1", LEASE)
    assert {c.task.id for c in first} == {solo[0], *free}
    assert claim(store, owner="n2") == []  # another node: the slot is taken
    token = next(c.token for c in first if c.task.id == solo[0])
    store.finish([Finish(solo[0], token, TaskStatus.SUCCEEDED)], T0 + 1)
    assert claim(store, T0 + 1, owner="n2") == [solo[1]]
    assert claim(store, T0 + 1) == []


def test_key_concurrency_holds_per_key_while_other_keys_run_side_by_side(store: TaskStore,
                                                                        make_task: MakeTask) -> None:
    store.set_queue("emails", {"key_concurrency": 1})
    a = add(store, make_task, 2, queue="emails", concurrency_key="user-a")
    b = add(store, make_task, 2, queue="emails", concurrency_key="user-b")
    loose = add(store, make_task, 2, queue="emails")  # no key: only the queue's own limit
    assert set(claim(store)) == {a[0], b[0], *loose}
    assert claim(store, owner="n2") == []


def test_concurrency_and_key_concurrency_together(store: TaskStore, make_task: MakeTask) -> None:
    store.set_queue("q", {"concurrency": 2, "key_concurrency": 1})
    keyed = [store.add([make_task(queue="q", concurrency_key=key)])[0] for key in "aab"]
    assert set(claim(store)) == {keyed[0], keyed[2]}


def test_paused_queue_claims_nothing_until_resumed(store: TaskStore, make_task: MakeTask) -> None:
    store.set_queue("q", {"paused": True})
    held = add(store, make_task, 2, queue="q")
    other = add(store, make_task, 1)
    assert claim(store) == other
    store.set_queue("q", {"paused": False})
    assert set(claim(store)) == set(held)


def test_a_reclaimed_lease_frees_its_slot(store: TaskStore, make_task: MakeTask) -> None:
    store.set_queue("q", {"concurrency": 1})
    ids = add(store, make_task, 2, queue="q")
    assert claim(store, owner="dead") == [ids[0]]
    assert claim(store, T0 + 1) == []
    store.reclaim_expired(T0 + LEASE + 1, max_crashes=5)  # the dead node's lease expired
    assert len(claim(store, T0 + LEASE + 2)) == 1
    assert claim(store, T0 + LEASE + 2) == []


def test_a_finished_task_frees_its_slot_and_the_next_is_claimed_in_finish_and_claim(
        store: TaskStore, make_task: MakeTask) -> None:
    store.set_queue("q", {"concurrency": 1})
    ids = add(store, make_task, 2, queue="q")
    [first] = store.claim(["EMAIL"], 5, T0, "n1", LEASE)
    request = ClaimRequest(["EMAIL"], 5, "n1", LEASE)
    applied, claims = store.finish_and_claim([Finish(first.task.id, first.token, TaskStatus.SUCCEEDED)],
                                             T0 + 1, request)
    assert applied == [ids[0]] and [c.task.id for c in claims] == [ids[1]]


def test_a_node_claims_only_its_queues(store: TaskStore, make_task: MakeTask) -> None:
    a = add(store, make_task, 1, queue="a")
    b = add(store, make_task, 1, queue="b")
    plain = add(store, make_task, 1)
    assert claim(store, queues=["b"]) == b
    assert claim(store, queues=["default"]) == plain
    store.set_queue("z", {"concurrency": 3})  # the gated path filters too
    assert claim(store, queues=["z"]) == []
    assert claim(store, queues=["a", "z"]) == a


def test_a_concurrency_key_is_stored_and_read_back(store: TaskStore, make_task: MakeTask) -> None:
    [task_id] = store.add([make_task(concurrency_key="tenant-7")])
    task = store.get(task_id)
    assert task is not None and task.concurrency_key == "tenant-7"


@pytest.mark.parametrize("seed", range(12))
def test_a_rate_limit_is_never_exceeded_in_any_window(store: TaskStore, make_task: MakeTask, seed: int) -> None:
    rng = random.Random(seed)
    count, period = rng.randint(1, 4), rng.choice([1.0, 2.5, 60.0])
    store.set_queue("r", {"rate_limit": (count, period)})
    store.add([make_task(queue="r") for _ in range(30)])
    now, starts = T0, []
    for _ in range(25):
        now += rng.choice([0.0, 0.1, 0.5, 0.999, 1.0, 1.5, period])
        starts.extend([now] * len(claim(store, now, limit=rng.randint(1, 5))))
    for at in starts:  # every window [at, at + period) holds at most ``count`` starts
        assert sum(1 for other in starts if at <= other < at + period) <= count
    assert len(starts) >= count  # and it does start work
