"""PriorityQueue: ELIZA_SPEC §3 — tiers, FIFO, capacity policy, invalid priorities, drain."""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass

import pytest

from actors.batch import PriorityQueue
from actors.errors import ValidationError

INVALID = 'Invalid queue priority %r; expected "high" | "normal" | "low". Treating as normal.'


@dataclass
class Item:
    id: str
    priority: str = "normal"


def make(**kwargs: object) -> PriorityQueue[Item]:
    return PriorityQueue(lambda item: item.priority, **kwargs)  # type: ignore[arg-type]


def ids(items: list[Item]) -> list[str]:
    return [item.id for item in items]


def test_starts_empty() -> None:
    q = make()
    assert q.size == 0
    assert len(q) == 0
    assert q.stats() == {"high": 0, "normal": 0, "low": 0, "total": 0}
    assert q.dequeue_batch(1) == []
    assert q.drain() == []


def test_single_item_round_trips_by_identity() -> None:
    q = make()
    only = Item("only")
    assert q.enqueue(only) is True
    assert q.stats() == {"high": 0, "normal": 1, "low": 0, "total": 1}
    out = q.dequeue_batch(1)
    assert out == [only]
    assert out[0] is only
    assert q.size == 0


def test_high_before_normal_before_low_regardless_of_arrival() -> None:
    q = make()
    for item in (
        Item("low-first", "low"),
        Item("normal-mid"),
        Item("high-last", "high"),
        Item("low-second", "low"),
        Item("high-second", "high"),
    ):
        q.enqueue(item)
    assert ids(q.dequeue_batch(5)) == ["high-last", "high-second", "normal-mid", "low-first", "low-second"]


def test_fifo_within_a_tier() -> None:
    q = make()
    for name in ("n1", "n2", "n3"):
        q.enqueue(Item(name))
    assert ids(q.dequeue_batch(2)) == ["n1", "n2"]
    assert ids(q.dequeue_batch(1)) == ["n3"]


@pytest.mark.parametrize("n", [0, -1, -3])
def test_non_positive_dequeue_returns_nothing(n: int) -> None:
    q = make()
    assert q.dequeue_batch(n) == []
    q.enqueue(Item("kept", "high"))
    assert q.dequeue_batch(n) == []
    assert q.size == 1


def test_dequeue_more_than_size_returns_everything() -> None:
    q = make()
    q.enqueue(Item("h", "high"))
    q.enqueue(Item("l", "low"))
    assert ids(q.dequeue_batch(99)) == ["h", "l"]
    assert q.dequeue_batch(1) == []


def test_dequeue_spans_tiers_and_skips_empty_ones() -> None:
    q = make()
    q.enqueue(Item("h1", "high"))
    q.enqueue(Item("n1"))
    q.enqueue(Item("n2"))
    q.enqueue(Item("l1", "low"))
    assert ids(q.dequeue_batch(3)) == ["h1", "n1", "n2"]
    assert ids(q.dequeue_batch(3)) == ["l1"]


def test_default_get_priority_is_normal_for_everything() -> None:
    q: PriorityQueue[str] = PriorityQueue()
    q.enqueue("a")
    q.enqueue("b")
    assert q.stats() == {"high": 0, "normal": 2, "low": 0, "total": 2}


def test_get_priority_is_called_once_at_enqueue_and_never_again() -> None:
    calls: list[str] = []

    def priority(item: Item) -> str:
        calls.append(item.id)
        return item.priority

    q = PriorityQueue(priority)
    late = Item("late", "low")
    q.enqueue(Item("first"))
    q.enqueue(late)
    late.priority = "high"  # too late: the tier was chosen at enqueue
    assert ids(q.dequeue_batch(2)) == ["first", "late"]
    q.enqueue(Item("x"))
    q.drain(lambda item: True)
    q.stats()
    assert calls == ["first", "late", "x"]


def test_get_priority_error_propagates_and_nothing_is_stored() -> None:
    def boom(item: Item) -> str:
        raise LookupError("no priority")

    q = PriorityQueue(boom)
    with pytest.raises(LookupError):
        q.enqueue(Item("a"))
    assert q.size == 0


def test_str_enum_priorities_are_accepted() -> None:
    class P(str, enum.Enum):
        HIGH = "high"
        LOW = "low"

    q: PriorityQueue[tuple[str, P]] = PriorityQueue(lambda item: item[1])
    q.enqueue(("l", P.LOW))
    q.enqueue(("h", P.HIGH))
    assert q.stats() == {"high": 1, "normal": 0, "low": 1, "total": 2}
    assert [name for name, _ in q.dequeue_batch(2)] == ["h", "l"]


# -- invalid priorities --------------------------------------------------------------


def test_invalid_priority_is_normal_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="actors.batch")
    q = make()
    assert q.enqueue(Item("bad-1", "urgent")) is True
    assert q.enqueue(Item("bad-2", "critical")) is True
    assert q.enqueue(Item("good", "high")) is True
    assert q.enqueue(Item("real-normal", "normal")) is True
    warnings = [r for r in caplog.records if r.name == "actors.batch"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].msg == INVALID
    assert warnings[0].getMessage() == (
        'Invalid queue priority \'urgent\'; expected "high" | "normal" | "low". Treating as normal.'
    )
    assert q.stats() == {"high": 1, "normal": 3, "low": 0, "total": 4}
    assert ids(q.dequeue_batch(4)) == ["good", "bad-1", "bad-2", "real-normal"]


@pytest.mark.parametrize("bad", [None, 3, "HIGH", " high", b"high"])
def test_non_string_or_misspelt_priorities_count_as_invalid(
    bad: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="actors.batch")
    q: PriorityQueue[object] = PriorityQueue(lambda item: bad)  # type: ignore[arg-type,return-value]
    q.enqueue("x")
    assert q.stats()["normal"] == 1
    assert [r.args for r in caplog.records if r.name == "actors.batch"] == [(bad,)]


def test_each_queue_instance_warns_on_its_own(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="actors.batch")
    first, second = make(), make()
    first.enqueue(Item("a", "nope"))
    second.enqueue(Item("b", "nope"))
    first.enqueue(Item("c", "nope"))
    assert len([r for r in caplog.records if r.name == "actors.batch"]) == 2
    assert first.stats()["normal"] == 2
    assert second.stats()["normal"] == 1


# -- capacity ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3", float("inf")])
def test_max_size_must_be_an_int_at_least_zero(bad: object) -> None:
    with pytest.raises(ValidationError) as err:
        make(max_size=bad)
    assert err.value.field == "max_size"


def test_unbounded_by_default() -> None:
    q = make()
    for i in range(1000):
        assert q.enqueue(Item(str(i)))
    assert q.size == 1000
    assert q.max_size is None


def test_pressure_false_rejects_the_new_item_without_warning() -> None:
    rejected: list[str] = []
    warnings: list[tuple[int, int]] = []

    def pressure(queue: PriorityQueue[Item], incoming: Item) -> bool:
        rejected.append(incoming.id)
        return False

    q = make(max_size=1, on_pressure=pressure, on_overflow_warning=lambda s, m: warnings.append((s, m)))
    first = Item("kept", "low")
    assert q.enqueue(first) is True
    assert q.enqueue(Item("dropped", "high")) is False
    assert rejected == ["dropped"]
    assert warnings == []
    assert q.drain() == [first]


def test_pressure_receives_the_queue_itself() -> None:
    seen: list[object] = []
    q = make(max_size=0, on_pressure=lambda queue, item: seen.append(queue) or False)
    q.enqueue(Item("a"))
    assert seen == [q]


def test_pressure_true_that_makes_room_inserts_without_warning() -> None:
    warnings: list[tuple[int, int]] = []

    def make_room(queue: PriorityQueue[Item], incoming: Item) -> bool:
        queue.dequeue_batch(1)  # re-enters the queue's lock from the same thread
        return True

    q = make(max_size=2, on_pressure=make_room, on_overflow_warning=lambda s, m: warnings.append((s, m)))
    q.enqueue(Item("old-low", "low"))
    q.enqueue(Item("kept-low", "low"))
    assert q.enqueue(Item("new-high", "high")) is True
    assert q.size == 2
    assert warnings == []
    assert ids(q.dequeue_batch(2)) == ["new-high", "kept-low"]


def test_pressure_true_without_room_still_inserts_and_warns() -> None:
    """DECIDE in ELIZA_SPEC §3: keep the warning in the "true" case (the merged copy omits it)."""
    warnings: list[tuple[int, int]] = []
    q = make(
        max_size=2,
        on_pressure=lambda queue, item: True,
        on_overflow_warning=lambda s, m: warnings.append((s, m)),
    )
    q.enqueue(Item("a"))
    q.enqueue(Item("b"))
    assert warnings == []
    assert q.enqueue(Item("c")) is True
    assert q.size == 3
    assert warnings == [(3, 2)]
    assert q.enqueue(Item("d")) is True
    assert warnings == [(3, 2), (4, 2)]


def test_pressure_true_without_room_and_no_warning_handler_inserts() -> None:
    q = make(max_size=1, on_pressure=lambda queue, item: True)
    assert q.enqueue(Item("a")) and q.enqueue(Item("b"))
    assert q.stats()["total"] == 2


def test_without_pressure_handler_the_queue_grows_and_warns() -> None:
    warnings: list[tuple[int, int]] = []
    q = make(max_size=2, on_overflow_warning=lambda s, m: warnings.append((s, m)))
    assert q.enqueue(Item("a", "high")) and q.enqueue(Item("b", "high"))
    assert warnings == []
    assert q.enqueue(Item("c", "low")) is True
    assert warnings == [(3, 2)]
    assert q.stats() == {"high": 2, "normal": 0, "low": 1, "total": 3}
    assert q.enqueue(Item("d")) is True
    assert warnings == [(3, 2), (4, 2)]


def test_warning_handler_may_dequeue_before_the_insert() -> None:
    taken: list[list[Item]] = []
    q: PriorityQueue[Item] = make(max_size=1)
    q = make(max_size=1, on_overflow_warning=lambda s, m: taken.append(q.dequeue_batch(1)))
    q.enqueue(Item("a"))
    assert q.enqueue(Item("b")) is True
    assert [ids(batch) for batch in taken] == [["a"]]
    assert ids(q.drain()) == ["b"]


def test_without_any_handler_the_queue_just_grows() -> None:
    q = make(max_size=1)
    assert q.enqueue(Item("a")) and q.enqueue(Item("b"))
    assert q.size == 2


def test_no_hook_runs_below_capacity() -> None:
    pressure: list[str] = []
    warnings: list[int] = []
    q = make(
        max_size=3,
        on_pressure=lambda queue, item: pressure.append(item.id) or False,
        on_overflow_warning=lambda s, m: warnings.append(s),
    )
    q.enqueue(Item("a"))
    q.enqueue(Item("b"))
    q.enqueue(Item("c"))
    assert pressure == []
    assert warnings == []
    assert q.enqueue(Item("d")) is False
    assert pressure == ["d"]


def test_pressure_wins_over_the_warning_when_both_are_set() -> None:
    warnings: list[int] = []
    q = make(
        max_size=1, on_pressure=lambda queue, item: False, on_overflow_warning=lambda s, m: warnings.append(s)
    )
    q.enqueue(Item("kept", "low"))
    assert q.enqueue(Item("dropped", "high")) is False
    assert warnings == []
    assert q.size == 1


def test_max_size_zero_means_pressure_on_the_first_enqueue() -> None:
    pressure: list[str] = []
    q = make(max_size=0, on_pressure=lambda queue, item: pressure.append(item.id) or False)
    assert q.enqueue(Item("never", "high")) is False
    assert pressure == ["never"]
    assert q.size == 0


def test_max_size_zero_without_pressure_warns_from_the_first_enqueue() -> None:
    warnings: list[tuple[int, int]] = []
    q = make(max_size=0, on_overflow_warning=lambda s, m: warnings.append((s, m)))
    assert q.enqueue(Item("a")) is True
    assert warnings == [(1, 0)]


# -- drain and clear ----------------------------------------------------------------


def test_drain_without_filter_takes_everything_in_priority_order() -> None:
    q = make()
    q.enqueue(Item("n"))
    q.enqueue(Item("h", "high"))
    q.enqueue(Item("l", "low"))
    assert ids(q.drain()) == ["h", "n", "l"]
    assert q.stats() == {"high": 0, "normal": 0, "low": 0, "total": 0}


def test_drain_filter_takes_matches_and_keeps_the_rest_in_order() -> None:
    q = make()
    for item in (Item("h1", "high"), Item("h2", "high"), Item("n1"), Item("l1", "low"), Item("l2", "low")):
        q.enqueue(item)
    assert ids(q.drain(lambda item: item.id.endswith("1"))) == ["h1", "n1", "l1"]
    assert q.stats() == {"high": 1, "normal": 0, "low": 1, "total": 2}
    assert ids(q.drain()) == ["h2", "l2"]


def test_drain_filter_keeps_fifo_of_survivors() -> None:
    q = make()
    for i in range(6):
        q.enqueue(Item(str(i)))
    assert ids(q.drain(lambda item: int(item.id) % 2 == 1)) == ["1", "3", "5"]
    q.enqueue(Item("6"))
    assert ids(q.dequeue_batch(10)) == ["0", "2", "4", "6"]


def test_drain_filter_without_matches_changes_nothing() -> None:
    q = make()
    kept = Item("present")
    q.enqueue(kept)
    assert q.drain(lambda item: item.id == "absent") == []
    assert q.drain() == [kept]


def test_drain_filter_matching_everything_empties_the_queue() -> None:
    q = make()
    q.enqueue(Item("h", "high"))
    q.enqueue(Item("l", "low"))
    assert ids(q.drain(lambda item: True)) == ["h", "l"]
    assert q.size == 0


def test_a_raising_drain_filter_leaves_the_queue_unchanged() -> None:
    q = make()
    for item in (Item("h", "high"), Item("n"), Item("boom", "low"), Item("l", "low")):
        q.enqueue(item)

    def pick(item: Item) -> bool:
        if item.id == "boom":
            raise RuntimeError("filter failed")
        return True

    with pytest.raises(RuntimeError):
        q.drain(pick)
    assert ids(q.drain()) == ["h", "n", "boom", "l"]


def test_clear_drops_everything_and_the_queue_stays_usable() -> None:
    q = make()
    q.enqueue(Item("h", "high"))
    q.enqueue(Item("n"))
    q.enqueue(Item("l", "low"))
    q.clear()
    assert q.size == 0
    assert q.stats() == {"high": 0, "normal": 0, "low": 0, "total": 0}
    q.enqueue(Item("after", "low"))
    assert ids(q.dequeue_batch(1)) == ["after"]


def test_concurrent_producers_and_a_consumer_lose_nothing() -> None:
    q: PriorityQueue[tuple[int, int]] = PriorityQueue(lambda item: ("high", "normal", "low")[item[0] % 3])
    start = threading.Barrier(5, timeout=10)
    taken: list[tuple[int, int]] = []

    def produce(worker: int) -> None:
        start.wait()
        for i in range(500):
            q.enqueue((worker, i))

    def consume() -> None:
        start.wait()
        for _ in range(2000):
            taken.extend(q.dequeue_batch(3))

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(4)]
    threads.append(threading.Thread(target=consume))
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    taken.extend(q.drain())
    assert sorted(taken) == sorted((w, i) for w in range(4) for i in range(500))
    # FIFO per producer survives interleaving: each producer's items come out in order.
    for worker in range(4):
        seq = [i for w, i in taken if w == worker]
        assert seq == sorted(seq)
