"""Prices for valuations, behind one small interface.

`QuoteProvider.prices(symbols)` answers with the symbols it can price and leaves the rest
out; it never raises because marketdata is slow or down (a valuation then falls back, see
`valuation`). Implementations: `MarketDataQuotes` asks marketdata (batch GetQuotes, or
GetQuote per symbol from a marketdata without it) with the caller's token forwarded by the
mesh client; `QuoteBook` keeps the latest quote of every symbol seen on marketdata.quotes.v1
and tells listeners which symbols moved; `Layered` asks one and fills the gaps from the other.
"""

from __future__ import annotations

import asyncio
import decimal
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import grpc
from trademesh.marketdata.v1 import events_pb2 as marketdata_events
from trademesh.marketdata.v1 import marketdata_pb2, marketdata_pb2_grpc

from mesh.events import Delivery

logger = logging.getLogger(__name__)

BATCH_LIMIT = 100  # GetQuotes takes at most this many symbols


@dataclass(frozen=True, slots=True)
class Price:
    symbol: str
    price: Decimal  # the last trade, else the bid/ask midpoint
    previous_close: Decimal | None
    at: float  # quote time, Unix seconds


class QuoteProvider(Protocol):
    async def prices(self, symbols: Collection[str]) -> dict[str, Price]: ...


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except decimal.InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def price_of(quote: marketdata_pb2.Quote) -> Price | None:
    """The valuation price of a quote, or None when it carries no usable price."""
    price = _decimal(quote.last_price)
    if price is None:
        bid, ask = _decimal(quote.bid_price), _decimal(quote.ask_price)
        if bid is None or ask is None:
            return None
        price = (bid + ask) / 2
    at = quote.quote_time.ToNanoseconds() / 1e9 if quote.HasField("quote_time") else 0.0
    return Price(quote.symbol, price, _decimal(quote.previous_close), at)


# A grpc.aio.Channel, or the mesh client's balanced channel that behaves as one.
Connect = Callable[[], Awaitable[Any]]


class MarketDataQuotes:
    """Quotes from marketdata's unary RPCs; `connect` gives a channel to marketdata (the mesh
    client's `lambda: mesh.connect("marketdata")` in the service). One lookup, discovery
    included, takes at most `timeout_seconds`."""

    def __init__(self, connect: Connect, *, timeout_seconds: float = 2.0) -> None:
        self._connect = connect
        self._timeout = timeout_seconds
        self._batch = True  # until marketdata answers UNIMPLEMENTED to GetQuotes

    async def prices(self, symbols: Collection[str]) -> dict[str, Price]:
        wanted = sorted(set(symbols))
        if not wanted:
            return {}
        try:
            async with asyncio.timeout(self._timeout):
                channel: grpc.aio.Channel = await self._connect()
                stub: marketdata_pb2_grpc.MarketDataServiceAsyncStub = (
                    marketdata_pb2_grpc.MarketDataServiceStub(channel)
                )
                quotes = await self._quotes(stub, wanted)
        except Exception as exc:  # an unreachable marketdata means "no prices", not a failure
            logger.warning("quotes for %s unavailable: %s", ",".join(wanted), _describe(exc))
            return {}
        return {p.symbol: p for p in map(price_of, quotes) if p is not None}

    async def _quotes(
        self, stub: marketdata_pb2_grpc.MarketDataServiceAsyncStub, symbols: Sequence[str]
    ) -> list[marketdata_pb2.Quote]:
        if self._batch:
            try:
                found: list[marketdata_pb2.Quote] = []
                for start in range(0, len(symbols), BATCH_LIMIT):
                    chunk = symbols[start : start + BATCH_LIMIT]
                    response = await stub.GetQuotes(
                        marketdata_pb2.GetQuotesRequest(symbols=chunk), timeout=self._timeout
                    )
                    found.extend(response.quotes)
                return found
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                    self._batch = False
                elif exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                # NOT_FOUND: some symbol is unknown; ask one by one for the others.
        return await self._one_by_one(stub, symbols)

    async def _one_by_one(
        self, stub: marketdata_pb2_grpc.MarketDataServiceAsyncStub, symbols: Sequence[str]
    ) -> list[marketdata_pb2.Quote]:
        async def one(symbol: str) -> marketdata_pb2.Quote | None:
            try:
                response = await stub.GetQuote(
                    marketdata_pb2.GetQuoteRequest(symbol=symbol), timeout=self._timeout
                )
            except grpc.aio.AioRpcError as exc:
                logger.info("no quote for %s: %s", symbol, exc.code().name)
                return None
            return response.quote

        answers = await asyncio.gather(*(one(symbol) for symbol in symbols))
        return [quote for quote in answers if quote is not None]


Listener = Callable[[frozenset[str]], None]


class QuoteBook:
    """The latest price of every symbol it was told about, newest quote time wins."""

    def __init__(self) -> None:
        self._prices: dict[str, Price] = {}
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """`listener(symbols)` runs synchronously whenever the price of `symbols` changed."""
        self._listeners.append(listener)

    def update(self, prices: Iterable[Price]) -> None:
        moved: set[str] = set()
        for price in prices:
            known = self._prices.get(price.symbol)
            if known is not None and (price.at < known.at or price == known):
                continue
            self._prices[price.symbol] = price
            if known is None or known.price != price.price:
                moved.add(price.symbol)
        if moved:
            symbols = frozenset(moved)
            for listener in self._listeners:
                listener(symbols)

    def get(self, symbol: str) -> Price | None:
        return self._prices.get(symbol)

    def known(self, symbols: Collection[str]) -> dict[str, Price]:
        return {s: self._prices[s] for s in symbols if s in self._prices}

    async def prices(self, symbols: Collection[str]) -> dict[str, Price]:
        return self.known(symbols)

    async def on_quote(self, delivery: Delivery) -> None:
        """Consumer handler for marketdata.quotes.v1 (QuoteUpdated)."""
        event: Any = delivery.event
        if isinstance(event, marketdata_events.QuoteUpdated):
            price = price_of(event.quote)
            if price is not None:
                self.update([price])


class Layered:
    """Prices from `primary`, gaps filled from `book`; what `primary` answers is kept in
    `book` too, so watchers of those symbols start with a price."""

    def __init__(self, primary: QuoteProvider, book: QuoteBook) -> None:
        self._primary = primary
        self._book = book

    async def prices(self, symbols: Collection[str]) -> dict[str, Price]:
        found = await self._primary.prices(symbols)
        self._book.update(found.values())
        missing = [s for s in symbols if s not in found]
        if missing:
            found.update(await self._book.prices(missing))
        return found


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
