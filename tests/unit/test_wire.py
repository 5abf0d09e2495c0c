"""The parent–child wire: length-prefixed pickles over a socket pair."""

from __future__ import annotations

import socket
import threading

import pytest

from actors.execution.process.wire import Frames, Wire, frame


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


def test_frames_decode_a_stream_fed_in_pieces_of_any_size() -> None:
    messages = [("events", [(1, "x")]), b"y" * 100_000, None, {"k": 2}]
    stream = b"".join(frame(m) for m in messages)
    for size in (1, 7, 4096, len(stream)):
        frames, out = Frames(), []
        for start in range(0, len(stream), size):
            out += frames.feed(stream[start:start + size])
        assert out == messages


def test_a_frame_is_what_wire_recv_reads(pair: tuple[Wire, Wire]) -> None:
    a, b = pair
    a.sock.sendall(frame(("ready", 7)))
    assert b.recv() == ("ready", 7)
