"""Messages between actors carry data, never callables (issue 12: "no callables in messages")."""

from __future__ import annotations

import inspect
import typing

import actors.messages as messages

#: Fields that are reply channels (futures) or data that holds the user's function by design:
#: ``Work.execute`` / ``RegisterWorker.worker`` carry the registered task function to the
#: executor, which ships it to its child once per name.
_ALLOWED = {("Work", "execute"), ("RegisterWorker", "worker")}


def _message_types() -> list[type]:
    return [obj for _, obj in inspect.getmembers(messages, inspect.isclass)
            if obj.__module__ == messages.__name__]


def test_no_message_field_is_typed_as_a_callable() -> None:
    offenders = []
    for cls in _message_types():
        for name, hint in typing.get_type_hints(cls).items():
            if (cls.__name__, name) not in _ALLOWED and "Callable" in repr(hint):
                offenders.append(f"{cls.__name__}.{name}: {hint!r}")
    assert offenders == []


def test_a_tick_is_plain_data_and_attach_carries_nothing() -> None:
    assert messages.Tick._fields == ("now", "scheduled")
    assert messages.Attach._fields == ()
    assert not hasattr(messages, "WorkerSlot")  # the supervisor's view of a worker is no message


def test_a_stored_batch_folds_counts_due_times_and_names_until_taken() -> None:
    import threading

    from actors.messages import Stored

    stored = Stored(threading.Lock())
    assert stored.fold(2, None, ["A"])
    assert stored.fold(1, 20.0, ["B"]) and stored.fold(3, 10.0, ["A"])
    assert stored.take() == (6, 10.0, frozenset({"A", "B"}))
    assert not stored.fold(1, 5.0, ["C"])  # taken: the caller starts the next batch
    assert stored.take() == (6, 10.0, frozenset({"A", "B"}))
