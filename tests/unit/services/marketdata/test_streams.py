"""StreamQuotes over a real grpc.aio server behind the real chain: current quotes first, then
every update; one shared feed; slow and vanishing callers. The quotes come from a provider the
test drives (ManualProvider), so "every tick" can be checked tick by tick: the volume of its
quote number n is 10 * n."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from trademesh.marketdata.v1 import marketdata_pb2 as pb
from trademesh.marketdata.v1 import marketdata_pb2_grpc as pb_grpc

from services.marketdata import MarketData, MarketDataConfig, Universe, build_marketdata
from tests.conftest import eventually
from tests.unit.services.marketdata.conftest import ManualProvider, Served, instrument

Metadata = tuple[tuple[str, str], ...]
SYMBOLS = ("AAA", "BBB", "CCC")


def _tick(message: pb.StreamQuotesResponse) -> tuple[str, int]:
    return message.quote.symbol, int(message.quote.volume) // 10


@pytest.fixture
def provider() -> ManualProvider:
    return ManualProvider(SYMBOLS)


@pytest_asyncio.fixture
async def marketdata(
    fast_config: MarketDataConfig, provider: ManualProvider
) -> AsyncIterator[MarketData]:
    universe = Universe(instrument(symbol) for symbol in SYMBOLS)
    async with await build_marketdata(fast_config, provider=provider, universe=universe) as built:
        await asyncio.wait_for(provider.running.wait(), 5)
        yield built


def _stream(served: Served, viewer: Metadata, *symbols: str, **kwargs: object) -> object:
    return served.stub.StreamQuotes(
        pb.StreamQuotesRequest(symbols=symbols), metadata=viewer, **kwargs
    )


async def _subscribers(served: Served, count: int) -> None:
    board = served.marketdata.board
    await eventually(
        lambda: asyncio.sleep(0, board.subscriber_count == count),
        timeout=30,
        what=f"{count} subscribers on the board (now {board.subscriber_count})",
    )


async def test_a_stream_sends_the_current_quotes_then_each_update(
    served: Served, viewer: Metadata, provider: ManualProvider
) -> None:
    provider.push("BBB")
    call = _stream(served, viewer, "CCC", "BBB")
    assert [_tick(await call.read()) for _ in range(2)] == [("CCC", 0), ("BBB", 1)]  # type: ignore[attr-defined]
    for n in range(1, 6):
        provider.push("AAA")  # not followed: never sent
        provider.push("CCC")
        assert _tick(await call.read()) == ("CCC", n)  # type: ignore[attr-defined]
    call.cancel()  # type: ignore[attr-defined]
    await _subscribers(served, 0)


async def test_a_caller_that_never_reads_does_not_hold_up_the_others(
    served: Served, viewer: Metadata, provider: ManualProvider
) -> None:
    # Without BDP probing the receive window stays at 64 KiB, so an unread stream truly
    # backs up at the server instead of being absorbed by the client's transport.
    still = grpc.aio.insecure_channel(served.address, options=[("grpc.http2.bdp_probe", 0)])
    stalled_stub = pb_grpc.MarketDataServiceStub(still)
    stalled = [
        stalled_stub.StreamQuotes(pb.StreamQuotesRequest(symbols=SYMBOLS), metadata=viewer)
        for _ in range(3)
    ]  # opened, never read
    readers = [_stream(served, viewer, "AAA") for _ in range(5)]
    for reader in readers:
        assert _tick(await reader.read()) == ("AAA", 0)  # type: ignore[attr-defined]
    await _subscribers(served, 8)
    for n in range(1, 3001):
        provider.push()
        for reader in readers:
            # Each reader gets every tick, in order, while the others back up.
            assert _tick(await reader.read()) == ("AAA", n)  # type: ignore[attr-defined]
    # A stalled caller that finally reads is not flooded with history: the board kept at
    # most the latest quote per symbol for it.
    first = stalled[0]
    received: list[tuple[str, int]] = []
    while ("AAA", 3000) not in received:
        received.append(_tick(await first.read()))  # type: ignore[attr-defined]
    print("stalled received", len(received))
    assert len(received) < 3000 * len(SYMBOLS) // 2  # far less than the 9000 quotes pushed
    for call in [*stalled, *readers]:
        call.cancel()  # type: ignore[attr-defined]
    await still.close()
    await _subscribers(served, 0)


async def test_hundreds_of_streams_cancelled_or_cut_off_leave_the_feed_and_server_usable(
    served: Served, viewer: Metadata, provider: ManualProvider
) -> None:
    cancelled = [_stream(served, viewer, *SYMBOLS) for _ in range(200)]
    for call in cancelled[:100]:
        await call.read()  # type: ignore[attr-defined]
    async with grpc.aio.insecure_channel(served.address) as other:
        stub = pb_grpc.MarketDataServiceStub(other)
        cut_off = [
            stub.StreamQuotes(pb.StreamQuotesRequest(symbols=["AAA"]), metadata=viewer)
            for _ in range(200)
        ]
        await asyncio.gather(*(call.read() for call in cut_off[:100]))
        provider.push()
        for call in cancelled:
            call.cancel()  # type: ignore[attr-defined]
    # `other` is closed here with the second 200 streams still open.
    await _subscribers(served, 0)
    assert served.marketdata.board.running
    provider.push("AAA")
    call = _stream(served, viewer, "AAA")
    assert _tick(await call.read()) == ("AAA", 2)  # type: ignore[attr-defined]
    provider.push("AAA")
    assert _tick(await call.read()) == ("AAA", 3)  # type: ignore[attr-defined]
    call.cancel()  # type: ignore[attr-defined]
    quote = await served.stub.GetQuote(pb.GetQuoteRequest(symbol="AAA"), metadata=viewer)
    assert int(quote.quote.volume) == 30


async def test_tiny_deadlines_end_streams_and_release_their_subscriptions(
    served: Served, viewer: Metadata, provider: ManualProvider
) -> None:
    calls = [_stream(served, viewer, *SYMBOLS, timeout=0.001 * (i % 50 + 1)) for i in range(200)]

    async def drain(call: object) -> grpc.StatusCode:
        with contextlib.suppress(grpc.aio.AioRpcError):
            async for _ in call:  # type: ignore[attr-defined]
                pass
        return await call.code()  # type: ignore[attr-defined, no-any-return]

    pushing = asyncio.create_task(_push_until_done(provider))
    try:
        codes = await asyncio.wait_for(asyncio.gather(*(drain(c) for c in calls)), 60)
    finally:
        pushing.cancel()
    assert set(codes) == {grpc.StatusCode.DEADLINE_EXCEEDED}
    await _subscribers(served, 0)
    call = _stream(served, viewer, "BBB")
    assert (await call.read()).quote.symbol == "BBB"  # type: ignore[attr-defined]
    call.cancel()  # type: ignore[attr-defined]


async def _push_until_done(provider: ManualProvider) -> None:
    while True:
        provider.push()
        await asyncio.sleep(0.001)


async def test_stopping_the_service_ends_open_streams(served: Served, viewer: Metadata) -> None:
    call = _stream(served, viewer, "AAA")
    await call.read()  # type: ignore[attr-defined]
    await served.marketdata.close()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call.read()  # type: ignore[attr-defined]
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert served.marketdata.board.subscriber_count == 0
