"""The parent–child wire: length-prefixed pickles over a socket pair."""

from __future__ import annotations

import socket
import threading

import pytest

from actors.execution._wire import Stalled, Wire


@pytest.fixture
def pair() -> tuple[Wire, Wire]:
    left, right = socket.socketpair()
    return Wire(left), Wire(right)


def test_messages_arrive_whole_and_in_order(pair: tuple[Wire, Wire]) -> None:
    a, b = pair
    big = ("run", b"x" * 3_000_000)  # larger than a socket buffer: written while the reader reads
    reader = threading.Thread(target=lambda: received.extend([b.recv(), b.recv(), b.recv()]))
    received: list[object] = []
    reader.start()
    a.send(("ready", 1))
    a.send(big)
    a.send({"k": [1, 2.5, None]})
    reader.join(30)
    assert received == [("ready", 1), big, {"k": [1, 2.5, None]}]


def test_poll_tells_whether_a_message_waits(pair: tuple[Wire, Wire]) -> None:
    a, b = pair
    assert b.poll(0) is False
    a.send("hello")
    assert b.poll(5) is True
    assert b.recv() == "hello"
    assert b.poll(0) is False


def test_an_unpicklable_message_writes_nothing(pair: tuple[Wire, Wire]) -> None:
    a, b = pair
    with pytest.raises(Exception, match="pickle"):
        a.send(("events", lambda: None))
    a.send("after")
    assert b.recv() == "after"


def test_the_end_of_the_stream_is_eof(pair: tuple[Wire, Wire]) -> None:
    a, b = pair
    a.send("last")
    a.close()
    assert b.recv() == "last"
    assert b.poll(5) is True  # the hang-up is readable
    with pytest.raises(EOFError):
        b.recv()


def test_a_bounded_send_to_an_end_that_reads_nothing_raises_stalled(pair: tuple[Wire, Wire]) -> None:
    a, _ = pair
    with pytest.raises(Stalled, match=r"took nothing for 0\.05s"):
        a.send(b"x" * 8_000_000, stall=0.05)  # never read: the socket buffer fills, then nothing moves


def test_a_bounded_send_waits_for_a_reader_that_keeps_taking(pair: tuple[Wire, Wire]) -> None:
    a, b = pair
    big = b"y" * 8_000_000
    received: list[object] = []
    reader = threading.Thread(target=lambda: received.append(b.recv()))
    reader.start()
    a.send(big, stall=5.0)
    reader.join(30)
    assert received == [big]
