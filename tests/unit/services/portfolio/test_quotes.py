"""Quote sources: `MarketDataQuotes` against an in-process marketdata-like grpc server
(plain grpc, no interceptors: what it checks is which RPCs are called and how answers and
failures are read), the quote book and the layered provider."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.marketdata.v1 import events_pb2 as marketdata_events
from trademesh.marketdata.v1 import marketdata_pb2 as md
from trademesh.marketdata.v1 import marketdata_pb2_grpc as md_grpc

from mesh.events import Delivery
from services.portfolio.quotes import Layered, MarketDataQuotes, Price, QuoteBook, price_of

Context = grpc.aio.ServicerContext[Any, Any]


def quote(symbol: str, last: str, close: str = "", at: float = 0.0) -> md.Quote:
    stamp = Timestamp()
    stamp.FromNanoseconds(int((at or time.time()) * 1e9))
    return md.Quote(symbol=symbol, last_price=last, previous_close=close, quote_time=stamp)


@dataclass
class MarketData(md_grpc.MarketDataServiceServicer):
    """Answers from a fixed table; can play an older marketdata without GetQuotes."""

    table: dict[str, md.Quote] = field(default_factory=dict)
    batch: bool = True
    calls: list[str] = field(default_factory=list)

    async def GetQuote(self, request: md.GetQuoteRequest, context: Context) -> md.GetQuoteResponse:
        self.calls.append(f"GetQuote {request.symbol}")
        if request.symbol not in self.table:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown symbol {request.symbol}")
        return md.GetQuoteResponse(quote=self.table[request.symbol])

    async def GetQuotes(
        self, request: md.GetQuotesRequest, context: Context
    ) -> md.GetQuotesResponse:
        self.calls.append(f"GetQuotes {len(request.symbols)}")
        if not self.batch:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "no batch here")
        unknown = [s for s in request.symbols if s not in self.table]
        if unknown:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown symbols {unknown}")
        return md.GetQuotesResponse(quotes=[self.table[s] for s in request.symbols])


@pytest_asyncio.fixture
async def marketdata() -> AsyncIterator[tuple[MarketData, grpc.aio.Channel]]:
    servicer = MarketData()
    server = grpc.aio.server()
    md_grpc.add_MarketDataServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield servicer, channel
    finally:
        await server.stop(None)


def _provider(channel: grpc.aio.Channel) -> MarketDataQuotes:
    async def connect() -> grpc.aio.Channel:
        return channel

    return MarketDataQuotes(connect, timeout_seconds=5)


async def test_batch_quotes_in_chunks_of_a_hundred(
    marketdata: tuple[MarketData, grpc.aio.Channel],
) -> None:
    servicer, channel = marketdata
    symbols = [f"S{i:03d}" for i in range(150)]
    servicer.table = {s: quote(s, "10.5", "10") for s in symbols}
    prices = await _provider(channel).prices(symbols)
    assert set(prices) == set(symbols)
    assert prices["S001"].price == Decimal("10.5")
    assert prices["S001"].previous_close == Decimal("10")
    assert servicer.calls == ["GetQuotes 100", "GetQuotes 50"]


async def test_without_get_quotes_it_asks_one_by_one(
    marketdata: tuple[MarketData, grpc.aio.Channel],
) -> None:
    servicer, channel = marketdata
    servicer.batch = False
    servicer.table = {"AAPL": quote("AAPL", "190"), "MSFT": quote("MSFT", "410")}
    provider = _provider(channel)
    assert set(await provider.prices(["AAPL", "MSFT"])) == {"AAPL", "MSFT"}
    assert set(await provider.prices(["AAPL"])) == {"AAPL"}
    # UNIMPLEMENTED is remembered: the second lookup does not try the batch again.
    assert servicer.calls.count("GetQuotes 2") == 1
    assert not any(call.startswith("GetQuotes 1") for call in servicer.calls)


async def test_unknown_symbols_are_left_out(
    marketdata: tuple[MarketData, grpc.aio.Channel],
) -> None:
    servicer, channel = marketdata
    servicer.table = {"AAPL": quote("AAPL", "190")}
    assert set(await _provider(channel).prices(["AAPL", "NOPE"])) == {"AAPL"}


async def test_an_unreachable_marketdata_gives_no_prices() -> None:
    async def connect() -> grpc.aio.Channel:
        raise TimeoutError("no marketdata instance in Consul")

    assert await MarketDataQuotes(connect, timeout_seconds=0.5).prices(["AAPL"]) == {}


def test_price_of_uses_last_then_midpoint() -> None:
    found = price_of(md.Quote(symbol="X", bid_price="9", ask_price="11"))
    assert found is not None and found.price == Decimal("10")
    assert price_of(md.Quote(symbol="X", last_price="garbage")) is None
    assert price_of(md.Quote(symbol="X", last_price="-1")) is None


async def test_the_book_keeps_the_newest_and_tells_what_moved() -> None:
    book = QuoteBook()
    moved: list[frozenset[str]] = []
    book.listen(moved.append)
    book.update([Price("AAPL", Decimal("1"), None, 10.0)])
    book.update([Price("AAPL", Decimal("2"), None, 5.0)])  # older: ignored
    book.update([Price("AAPL", Decimal("1"), None, 11.0)])  # same price: not a move
    event = marketdata_events.QuoteUpdated(event_id="e1", quote=quote("AAPL", "3", at=12.0))
    await book.on_quote(Delivery("marketdata.quotes.v1", 0, 0, "AAPL", event, "e1", {}, "c", None))
    found = book.get("AAPL")
    assert found is not None and found.price == Decimal("3")
    assert moved == [frozenset({"AAPL"}), frozenset({"AAPL"})]


async def test_layered_fills_gaps_from_the_book_and_feeds_it(
    marketdata: tuple[MarketData, grpc.aio.Channel],
) -> None:
    servicer, channel = marketdata
    servicer.table = {"AAPL": quote("AAPL", "190")}
    book = QuoteBook()
    book.update([Price("MSFT", Decimal("400"), None, time.time())])
    prices = await Layered(_provider(channel), book).prices(["AAPL", "MSFT"])
    assert {s: p.price for s, p in prices.items()} == {
        "AAPL": Decimal("190"),
        "MSFT": Decimal("400"),
    }
    assert book.get("AAPL") is not None


@pytest.mark.parametrize("symbols", [[], ["AAPL"]])
async def test_an_empty_table_prices_nothing(
    marketdata: tuple[MarketData, grpc.aio.Channel], symbols: list[str]
) -> None:
    _, channel = marketdata
    assert await _provider(channel).prices(symbols) == {}
