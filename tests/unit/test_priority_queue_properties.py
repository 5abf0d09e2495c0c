"""PriorityQueue against a plain model: tier order, FIFO per tier, no loss, no duplicates."""

from __future__ import annotations

from typing import ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from actors.batch import PriorityQueue

TIERS = ("high", "normal", "low")
# Anything else is stored as normal; these exercise that path too.
LABELS = (*TIERS, "urgent", "")

Entry = tuple[int, str]  # (unique id, label given by get_priority)


def tier_of(label: str) -> str:
    return label if label in TIERS else "normal"


class QueueMachine(RuleBasedStateMachine):
    """Every operation is applied to the real queue and to three plain lists."""

    MAX_SIZES: ClassVar[list[int | None]] = [None, None, None, 0, 1, 3, 8]

    def __init__(self) -> None:
        super().__init__()
        self.next_id = 0
        self.queue: PriorityQueue[Entry] = PriorityQueue(lambda entry: entry[1])
        self.model: dict[str, list[Entry]] = {tier: [] for tier in TIERS}
        self.out: list[Entry] = []  # everything that left the queue, in order
        self.rejected: list[Entry] = []
        self.max_size: int | None = None
        self.accept = True
        self.evict = False

    @initialize(max_size=st.sampled_from(MAX_SIZES), evict=st.booleans())
    def build(self, max_size: int | None, evict: bool) -> None:
        self.max_size = max_size
        self.evict = evict
        if max_size is None:
            return

        def on_pressure(queue: PriorityQueue[Entry], entry: Entry) -> bool:
            if not self.accept:
                return False
            if self.evict:
                # Make room the way a caller would: drop the oldest lowest-priority item.
                for tier in reversed(TIERS):
                    if self.model[tier]:
                        victim = self.model[tier].pop(0)
                        taken = queue.drain(lambda e, victim=victim: e == victim)
                        assert taken == [victim]
                        self.out.append(victim)
                        break
            return True

        self.queue = PriorityQueue(lambda entry: entry[1], max_size=max_size, on_pressure=on_pressure)

    def total(self) -> int:
        return sum(len(items) for items in self.model.values())

    def model_order(self) -> list[Entry]:
        return [entry for tier in TIERS for entry in self.model[tier]]

    @rule(label=st.sampled_from(LABELS), accept=st.booleans())
    def enqueue(self, label: str, accept: bool) -> None:
        self.accept = accept
        entry = (self.next_id, label)
        self.next_id += 1
        at_capacity = self.max_size is not None and self.total() >= self.max_size
        stored = self.queue.enqueue(entry)
        if at_capacity and not accept:
            assert stored is False
            self.rejected.append(entry)
        else:
            assert stored is True
            self.model[tier_of(label)].append(entry)

    @rule(n=st.integers(min_value=-2, max_value=7))
    def dequeue_batch(self, n: int) -> None:
        got = self.queue.dequeue_batch(n)
        expected = self.model_order()[: max(n, 0)]
        assert got == expected
        for entry in got:
            self.model[tier_of(entry[1])].remove(entry)
        self.out.extend(got)

    @rule(modulus=st.integers(min_value=1, max_value=4), residue=st.integers(min_value=0, max_value=3))
    def drain_matching(self, modulus: int, residue: int) -> None:
        def keep(entry: Entry) -> bool:
            return entry[0] % modulus == residue % modulus

        got = self.queue.drain(keep)
        assert got == [entry for entry in self.model_order() if keep(entry)]
        for tier in TIERS:
            self.model[tier] = [entry for entry in self.model[tier] if not keep(entry)]
        self.out.extend(got)

    @rule()
    def drain_all(self) -> None:
        got = self.queue.drain()
        assert got == self.model_order()
        self.out.extend(got)
        for tier in TIERS:
            self.model[tier].clear()

    @precondition(lambda self: self.total() > 0)
    @rule()
    def clear(self) -> None:
        self.queue.clear()
        for tier in TIERS:
            self.out.extend(self.model[tier])  # accounted as gone on purpose
            self.model[tier].clear()

    @invariant()
    def stats_match_the_model(self) -> None:
        stats = self.queue.stats()
        assert stats == {
            "high": len(self.model["high"]),
            "normal": len(self.model["normal"]),
            "low": len(self.model["low"]),
            "total": self.total(),
        }
        assert len(self.queue) == self.queue.size == self.total()

    @invariant()
    def tiers_hold_exactly_the_model(self) -> None:
        # White-box peek (unit tests may): the outputs are checked by the rules, this
        # catches a reordering inside a tier before any later rule would reveal it.
        assert {tier: list(self.queue._tiers[tier]) for tier in TIERS} == self.model

    @invariant()
    def fifo_within_each_tier(self) -> None:
        for tier in TIERS:
            ids = [entry[0] for entry in self.model[tier]]
            assert ids == sorted(ids)

    @invariant()
    def nothing_lost_or_duplicated(self) -> None:
        seen = [entry[0] for entry in self.out] + [entry[0] for entry in self.rejected]
        seen += [entry[0] for entry in self.model_order()]
        assert sorted(seen) == list(range(self.next_id))


TestPriorityQueueModel = QueueMachine.TestCase
TestPriorityQueueModel.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
