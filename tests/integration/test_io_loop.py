"""The process executor's I/O loop: timers, helpers, and channels that never block a sender.

Integration tests: a real loop thread on real time and real sockets. The two short sleeps only
set up a state (a loop asleep on a far timer, an idle helper); results are waited for on events
or with a bounded ``eventually``."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from actors.execution.process.loop import Channel, Helpers, IOLoop
from actors.execution.process.wire import Wire, frame
from tests.helpers import eventually


def test_timers_run_on_the_loop_thread_in_time_order_and_a_cancelled_one_never_runs() -> None:
    loop = IOLoop(name="test-io")
    fired: list[tuple[str, str]] = []
    done = threading.Event()

    def record(name: str) -> None:
        fired.append((name, threading.current_thread().name))
        if name == "last":
            done.set()

    now = time.monotonic()
    loop.call_at(now + 0.05, lambda: record("last"))
    loop.call_at(now - 1, lambda: record("first"))
    loop.call_at(now + 0.01, lambda: record("never")).cancel()
    loop.call_soon(lambda: record("soon"))
    assert done.wait(10)
    names = [name for name, _ in fired]
    assert sorted(names) == ["first", "last", "soon"] and names[-1] == "last"
    assert {thread for _, thread in fired} == {"test-io"}


def test_a_timer_set_from_another_thread_wakes_a_loop_asleep_on_a_later_one() -> None:
    loop = IOLoop(name="test-io")
    loop.call_at(time.monotonic() + 3600, lambda: None)
    time.sleep(0.05)  # the loop sleeps until the far timer
    soon = threading.Event()
    loop.call_at(time.monotonic() + 0.01, soon.set)
    assert soon.wait(5)


def test_helpers_run_off_the_caller_and_an_idle_helper_is_reused_then_ends() -> None:
    helpers = Helpers("test-helper", idle=0.2)
    seen: list[int] = []
    first, second = threading.Event(), threading.Event()
    helpers.submit(lambda: (seen.append(threading.get_ident()), first.set()))
    assert first.wait(5)
    time.sleep(0.05)  # the helper is idle now
    helpers.submit(lambda: (seen.append(threading.get_ident()), second.set()))
    assert second.wait(5)
    assert seen[0] == seen[1] != threading.get_ident()
    eventually(lambda: not any(t.name == "test-helper" for t in threading.enumerate()), timeout=5)


def test_blocking_helpers_do_not_hold_up_the_next_one() -> None:
    helpers = Helpers("test-helper", idle=0.2)
    release, ran = threading.Event(), threading.Event()
    helpers.submit(lambda: release.wait(10))
    helpers.submit(ran.set)
    assert ran.wait(5)
    release.set()


class Ends:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.closed = threading.Event()
        self.stalled = threading.Event()
        self.got = threading.Event()

    def on_messages(self, messages: list[Any]) -> None:
        self.messages += messages
        self.got.set()


def channel(loop: IOLoop) -> tuple[Channel, Wire, Ends]:
    ours, theirs = socket.socketpair()
    ends = Ends()
    return Channel(loop, ours, ends.on_messages, ends.closed.set, ends.stalled.set), Wire(theirs), ends


def test_a_send_to_an_end_that_reads_nothing_returns_at_once_and_reports_the_stall() -> None:
    chan, _, ends = channel(IOLoop(name="test-io"))
    started = time.monotonic()
    chan.send(frame(b"x" * 8_000_000), stall=0.05)  # far past a socket buffer, never read
    assert time.monotonic() - started < 1.0
    assert ends.stalled.wait(5) and not ends.closed.is_set()


def test_the_loop_finishes_a_large_send_to_an_end_that_keeps_reading() -> None:
    chan, theirs, ends = channel(IOLoop(name="test-io"))
    big = b"y" * 8_000_000
    chan.send(frame(big), stall=5.0)
    chan.send(frame("after"), stall=5.0)
    assert theirs.recv() == big and theirs.recv() == "after"
    time.sleep(0.1)
    assert not ends.stalled.is_set()


def test_messages_arrive_in_order_and_the_end_of_the_stream_closes_once() -> None:
    chan, theirs, ends = channel(IOLoop(name="test-io"))
    theirs.send(("events", [1]))
    theirs.send(("bye", "stopped"))
    assert ends.got.wait(5)
    theirs.close()
    assert ends.closed.wait(5)
    assert ends.messages == [("events", [1]), ("bye", "stopped")]
    chan.send(frame("late"), stall=1.0)  # dropped, no error
