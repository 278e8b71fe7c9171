"""The room hub against real gRPC servers: the marketdata service with quotes the test
drives, and a scripted StreamQuotes for failures and quiet streams."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from edge.realtime import ROOM_ERROR, ROOM_STATUS, Refused, RoomTable
from services.marketdata import MarketData
from tests.conftest import eventually
from tests.unit.edge.realtime.conftest import (
    ALICE,
    BOB,
    RecordingEmitter,
    ScriptedQuotes,
    Served,
    make_hub,
    principal,
)
from tests.unit.services._mesh import Signer
from tests.unit.services.marketdata.conftest import ManualProvider


async def _until(check: object, what: str) -> None:
    async def probe() -> bool:
        return bool(check())  # type: ignore[operator]

    await eventually(probe, timeout=10, interval=0.02, what=what)


async def test_members_share_one_stream_that_the_last_leave_cancels(
    quotes_server: Served,
    marketdata: MarketData,
    provider: ManualProvider,
    table: RoomTable,
    signer: Signer,
) -> None:
    emitter = RecordingEmitter()
    hub, metrics = make_hub(quotes_server.upstream, emitter)
    alice, bob = principal(signer, ALICE), principal(signer, BOB)
    target = table.resolve("quotes:AAA", alice)

    first = await hub.join("s1", target, alice)
    # The ack came after the service wrote the current quote, which the opener is sent.
    assert first.seq == emitter.seqs("s1")[-1]
    second = await hub.join("s2", table.resolve("quotes:AAA", bob), bob)
    assert not second.resync
    assert hub.rooms() == {"quotes:AAA": 2}
    assert metrics.upstream_streams._value.get() == 1
    board = marketdata.board
    await _until(lambda: board.subscriber_count == 1, "the probe of the second join ended")

    for n in range(1, 4):  # one at a time: the board sends only a symbol's newest quote
        provider.push("AAA")
        await _until(lambda n=n: len(emitter.events("s2")) == n, f"quote {n} to s2")
    seqs = emitter.seqs("s2")
    assert seqs == list(range(second.seq + 1, second.seq + 4))
    assert emitter.seqs("s1")[-3:] == seqs
    # One emit per event to the room, whatever its size.
    assert emitter.room_emits.count(("event", "quotes:AAA")) == len(emitter.seqs("s1"))
    assert [e["data"]["quote"]["symbol"] for e in emitter.events("s2")] == ["AAA"] * 3
    emitted = metrics.events_emitted.labels("quotes:{symbols}")._value.get()
    assert emitted == len(emitter.seqs("s1"))

    assert await hub.leave("s1", "quotes:AAA")
    assert hub.upstream_open("quotes:AAA")
    assert await hub.leave("s2", "quotes:AAA")
    assert not await hub.leave("s2", "quotes:AAA")
    assert hub.rooms() == {}
    await _until(lambda: board.subscriber_count == 0, "the upstream stream cancelled")
    assert metrics.upstream_streams._value.get() == 0
    assert metrics.rooms._value.get() == 0
    await hub.stop()


async def test_the_service_refuses_a_join_and_nothing_stays_open(
    quotes_server: Served, marketdata: MarketData, table: RoomTable, signer: Signer
) -> None:
    hub, metrics = make_hub(quotes_server.upstream, RecordingEmitter())
    alice = principal(signer, ALICE)
    with pytest.raises(Refused) as unknown:
        await hub.join("s1", table.resolve("quotes:NOPE", alice), alice)
    assert unknown.value.status.code == grpc.StatusCode.NOT_FOUND.value[0]

    roleless = principal(signer, ALICE, "nobody")
    with pytest.raises(Refused) as denied:
        await hub.join("s1", table.resolve("quotes:AAA", roleless), roleless)
    assert denied.value.status.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert hub.rooms() == {}
    assert hub.rooms_of("s1") == frozenset()
    assert metrics.rooms._value.get() == 0
    assert marketdata.board.subscriber_count == 0
    await hub.stop()


async def test_a_later_joiner_is_checked_with_its_own_token(
    quotes_server: Served, marketdata: MarketData, table: RoomTable, signer: Signer
) -> None:
    emitter = RecordingEmitter()
    hub, _ = make_hub(quotes_server.upstream, emitter)
    alice, mallory = principal(signer, ALICE), principal(signer, BOB, "nobody")
    await hub.join("s1", table.resolve("quotes:AAA", alice), alice)
    with pytest.raises(Refused) as denied:
        await hub.join("s2", table.resolve("quotes:AAA", mallory), mallory)
    assert denied.value.status.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert hub.rooms() == {"quotes:AAA": 1}
    assert hub.rooms_of("s2") == frozenset()
    assert "s2" not in emitter.members["quotes:AAA"]
    await hub.stop()
    await _until(lambda: marketdata.board.subscriber_count == 0, "the stream cancelled at stop")


async def test_a_users_second_socket_joins_without_another_check(
    quotes_server: Served, table: RoomTable, signer: Signer
) -> None:
    hub, _ = make_hub(quotes_server.upstream, RecordingEmitter())
    alice, bob = principal(signer, ALICE), principal(signer, BOB)
    await hub.join("s1", table.resolve("quotes:AAA", alice), alice)
    assert quotes_server.upstream.opened == 1
    await hub.join("s2", table.resolve("quotes:AAA", alice), alice)
    assert quotes_server.upstream.opened == 1
    await hub.join("s3", table.resolve("quotes:AAA", bob), bob)
    assert quotes_server.upstream.opened == 2  # bob's probe
    await hub.join("s4", table.resolve("quotes:AAA", bob), bob)
    assert quotes_server.upstream.opened == 2
    assert hub.rooms() == {"quotes:AAA": 4}
    await hub.stop()


async def test_a_client_coming_back_gets_what_it_missed_or_is_told_to_resync(
    quotes_server: Served, provider: ManualProvider, table: RoomTable, signer: Signer
) -> None:
    emitter = RecordingEmitter()
    hub, _ = make_hub(quotes_server.upstream, emitter, buffer_size=3)
    alice = principal(signer, ALICE)
    target = table.resolve("quotes:AAA", alice)
    await hub.join("keeper", target, alice)
    joined = await hub.join("s1", target, alice)
    provider.push("AAA")
    await _until(lambda: len(emitter.events("s1")) == 1, "one quote")
    last = emitter.seqs("s1")[-1]
    await hub.leave("s1", "quotes:AAA")

    for n in (1, 2):
        provider.push("AAA")
        await _until(lambda n=n: emitter.seqs("keeper")[-1] == last + n, "quotes while away")
    back = await hub.join("s2", target, alice, since=last)
    assert not back.resync
    assert emitter.seqs("s2") == [last + 1, last + 2]
    assert back.seq == last + 2

    for n in (3, 4, 5):
        provider.push("AAA")
        await _until(lambda n=n: emitter.seqs("keeper")[-1] == last + n, "more quotes")
    stale = await hub.join("s3", target, alice, since=joined.seq)
    assert stale.resync  # the buffer of 3 no longer holds joined.seq + 1
    assert emitter.seqs("s3") == []
    future = await hub.join("s4", target, alice, since=last + 1000)
    assert future.resync
    await hub.stop()


async def test_a_reopened_room_numbers_above_its_past_and_asks_for_a_resync(
    quotes_server: Served, table: RoomTable, signer: Signer
) -> None:
    emitter = RecordingEmitter()
    hub, _ = make_hub(quotes_server.upstream, emitter)
    alice = principal(signer, ALICE)
    target = table.resolve("quotes:AAA", alice)
    before = await hub.join("s1", target, alice)
    await hub.leave("s1", "quotes:AAA")
    again = await hub.join("s1", target, alice, since=before.seq)
    assert again.resync
    assert emitter.seqs("s1")[-1] > before.seq
    await hub.stop()


async def test_an_upstream_failure_is_retried_and_members_are_told(
    scripted_server: Served, scripted: ScriptedQuotes, table: RoomTable, signer: Signer
) -> None:
    emitter = RecordingEmitter()
    hub, metrics = make_hub(scripted_server.upstream, emitter)
    alice = principal(signer, ALICE)
    joining = asyncio.create_task(hub.join("s1", table.resolve("quotes:AAA", alice), alice))
    await _until(lambda: scripted.calls, "the stream opened")
    scripted.push("1")
    joined = await joining
    scripted.fail(grpc.StatusCode.UNAVAILABLE, "restarting")
    await _until(lambda: len(scripted.calls) == 2, "the stream reopened")
    scripted.push("2")
    await _until(lambda: len(emitter.events("s1")) == 2, "the quote after the retry")
    assert emitter.seqs("s1") == [joined.seq, joined.seq + 1]
    states = [e["state"] for e in emitter.events("s1", ROOM_STATUS)]
    assert states == ["retrying", "live"]
    retrying = emitter.events("s1", ROOM_STATUS)[0]
    assert retrying["error"]["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    assert retrying["error"]["message"] == "restarting"
    assert metrics.upstream_retries._value.get() == 1
    await hub.stop()
    await _until(lambda: scripted.open == 0, "the stream cancelled at stop")


async def test_a_final_failure_ends_the_room_for_its_members(
    scripted_server: Served, scripted: ScriptedQuotes, table: RoomTable, signer: Signer
) -> None:
    emitter = RecordingEmitter()
    hub, metrics = make_hub(scripted_server.upstream, emitter, accept_window_seconds=0.2)
    alice = principal(signer, ALICE)
    await hub.join("s1", table.resolve("quotes:AAA", alice), alice)  # quiet: the window
    scripted.fail(grpc.StatusCode.NOT_FOUND, "AAA was delisted")
    await _until(lambda: emitter.events("s1", ROOM_ERROR), "the room error")
    error = emitter.events("s1", ROOM_ERROR)[0]
    assert error["room"] == "quotes:AAA"
    assert error["error"]["code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert hub.rooms() == {}
    assert hub.rooms_of("s1") == frozenset()
    assert metrics.rooms._value.get() == 0
    assert len(scripted.calls) == 1  # not retried
    await hub.stop()


async def test_a_join_cancelled_while_the_stream_opens_cancels_the_stream(
    scripted_server: Served, scripted: ScriptedQuotes, table: RoomTable, signer: Signer
) -> None:
    hub, metrics = make_hub(scripted_server.upstream, RecordingEmitter(), accept_window_seconds=30)
    alice = principal(signer, ALICE)
    joining = asyncio.create_task(hub.join("s1", table.resolve("quotes:AAA", alice), alice))
    await _until(lambda: scripted.open == 1, "the stream opened")
    joining.cancel()
    with pytest.raises(asyncio.CancelledError):
        await joining
    await _until(lambda: scripted.open == 0, "the upstream call cancelled")
    assert hub.rooms() == {}
    assert metrics.rooms._value.get() == 0
    await hub.stop()


async def test_stopping_the_hub_cancels_open_streams_and_pending_joins(
    scripted_server: Served, scripted: ScriptedQuotes, table: RoomTable, signer: Signer
) -> None:
    hub, metrics = make_hub(scripted_server.upstream, RecordingEmitter(), accept_window_seconds=30)
    alice = principal(signer, ALICE)
    pending = asyncio.create_task(hub.join("s1", table.resolve("quotes:AAA", alice), alice))
    await _until(lambda: scripted.open == 1, "the stream opened")
    await hub.stop()
    with pytest.raises(Refused):
        await pending
    await _until(lambda: scripted.open == 0, "the upstream call cancelled")
    assert metrics.upstream_streams._value.get() == 0
    await hub.stop()
    with pytest.raises(Refused) as refused:
        await hub.join("s1", table.resolve("quotes:AAA", alice), alice)
    assert refused.value.status.code == grpc.StatusCode.UNAVAILABLE.value[0]
