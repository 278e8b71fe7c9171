"""The per-room event buffer: replay after a sequence number, or resync when it cannot."""

from __future__ import annotations

from edge.realtime import EventBuffer


def _filled(size: int, base: int, count: int) -> EventBuffer:
    buffer = EventBuffer(size, base)
    for _ in range(count):
        seq = buffer.next_seq()
        buffer.append({"room": "r", "seq": seq, "data": {}})
    return buffer


def _seqs(buffer: EventBuffer, since: int | None) -> list[int]:
    return [e["seq"] for e in buffer.since(since).events]


def test_numbers_start_after_the_base_and_grow_by_one() -> None:
    buffer = _filled(10, 100, 3)
    assert buffer.seq == 103
    assert _seqs(buffer, None) == [101, 102, 103]


def test_a_client_within_the_buffer_gets_exactly_what_it_missed() -> None:
    buffer = _filled(10, 100, 5)
    assert _seqs(buffer, 102) == [103, 104, 105]
    assert not buffer.since(102).resync
    assert _seqs(buffer, 105) == []
    assert not buffer.since(105).resync
    assert _seqs(buffer, 100) == [101, 102, 103, 104, 105]


def test_a_gap_older_than_the_buffer_asks_for_a_resync() -> None:
    buffer = _filled(3, 100, 6)  # holds 104..106
    assert _seqs(buffer, 103) == [104, 105, 106]
    replay = buffer.since(102)
    assert replay.resync
    assert replay.events == ()  # what is held no longer starts at the room's opening


def test_a_number_from_before_the_room_or_after_it_asks_for_a_resync() -> None:
    buffer = _filled(10, 100, 2)
    before = buffer.since(50)
    assert before.resync
    assert [e["seq"] for e in before.events] == [101, 102]  # everything since the opening
    after = buffer.since(500)
    assert after.resync


def test_an_empty_buffer_replays_nothing() -> None:
    buffer = EventBuffer(4, 7)
    assert buffer.since(7).events == ()
    assert not buffer.since(7).resync
    assert buffer.since(None).events == ()
