"""Fixtures for the marketdata tests: small universes, a hand-driven quote provider, settings
that make the simulated feed tick fast, real signed tokens, and the service on a real
grpc.aio server behind the real interceptor chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc
import pytest
import pytest_asyncio
from trademesh.marketdata.v1 import marketdata_pb2_grpc as pb_grpc

from services.marketdata import (
    AssetClass,
    Instrument,
    MarketData,
    MarketDataConfig,
    Quote,
    QuoteSink,
    build_marketdata,
)
from tests.unit.services._mesh import Signer, bearer, listening

FAST_TICK_SECONDS = 0.05
STOP_GRACE_SECONDS = 2.0
USER_ID = "9b2f0c8e-2f8a-4d7b-9d55-0a3f1c6e7b21"


def instrument(
    symbol: str, price: str = "100.00", *, tick: str = "0.01", **changes: object
) -> Instrument:
    values: dict[str, object] = {
        "symbol": symbol,
        "name": f"{symbol} Corporation",
        "exchange": "XNAS",
        "currency": "USD",
        "asset_class": AssetClass.EQUITY,
        "tick_size": Decimal(tick),
        "lot_size": Decimal(1),
        "tradable": True,
        "reference_price": Decimal(price),
    }
    values.update(changes)
    return Instrument(**values)  # type: ignore[arg-type]


def quote(symbol: str, sequence: int, price: str = "100.00") -> Quote:
    last = Decimal(price)
    return Quote(
        symbol=symbol,
        bid_price=last - Decimal("0.01"),
        bid_size=Decimal(100),
        ask_price=last + Decimal("0.01"),
        ask_size=Decimal(100),
        last_price=last,
        volume=Decimal(sequence * 10),
        previous_close=Decimal("100.00"),
        currency="USD",
        quote_time=datetime(2026, 1, 2, 15, 30, tzinfo=UTC),
        sequence=sequence,
    )


class ManualProvider:
    """A QuoteProvider the test drives: `push` delivers quotes to the board's sink."""

    def __init__(self, symbols: Sequence[str]) -> None:
        self._symbols = tuple(symbols)
        self._sequence = dict.fromkeys(self._symbols, 0)
        self._sink: QuoteSink | None = None
        self.running = asyncio.Event()
        self.runs = 0
        self.fail_next = False

    @property
    def symbols(self) -> Sequence[str]:
        return self._symbols

    def snapshot(self) -> Sequence[Quote]:
        return [quote(symbol, 0) for symbol in self._symbols]

    async def run(self, sink: QuoteSink) -> None:
        self.runs += 1
        self._sink = sink
        self.running.set()
        try:
            while True:
                await asyncio.sleep(3600)
        finally:
            self.running.clear()
            self._sink = None

    def push(self, *symbols: str) -> list[Quote]:
        """One new quote for each symbol (all of them when none named), delivered at once."""
        assert self._sink is not None, "the provider is not running"
        batch = []
        for symbol in symbols or self._symbols:
            self._sequence[symbol] += 1
            batch.append(quote(symbol, self._sequence[symbol]))
        self._sink(batch)
        return batch


@pytest.fixture
def fast_config() -> MarketDataConfig:
    return MarketDataConfig(tick_interval_seconds=FAST_TICK_SECONDS, publish_quotes=False)


@dataclass
class Tokens:
    """Signs access tokens the way identity does."""

    signer: Signer

    def access(self, *roles: str) -> str:
        return self.signer.access(USER_ID, roles or ("viewer",), session_id="session-1")


auth = bearer


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def tokens(signer: Signer) -> Tokens:
    return Tokens(signer)


@pytest.fixture
def viewer(tokens: Tokens) -> tuple[tuple[str, str], ...]:
    return auth(tokens.access("viewer"))


@pytest_asyncio.fixture
async def marketdata(fast_config: MarketDataConfig) -> AsyncIterator[MarketData]:
    async with await build_marketdata(fast_config) as built:
        yield built


@dataclass
class Served:
    marketdata: MarketData
    address: str
    channel: grpc.aio.Channel
    stub: Any  # marketdata_pb2_grpc.MarketDataServiceAsyncStub, which exists only in the .pyi


@pytest_asyncio.fixture
async def served(marketdata: MarketData, signer: Signer) -> AsyncIterator[Served]:
    """The service on a real grpc.aio server on 127.0.0.1:0 behind the real server chain,
    whose verifier reads the signer's JWKS (identity's GetJwks in production)."""
    async with (
        listening(
            marketdata.service_spec().servicers,
            service_name="marketdata",
            verifier=signer.verifier(),
            grace=STOP_GRACE_SECONDS,
        ) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        yield Served(marketdata, server.address, channel, pb_grpc.MarketDataServiceStub(channel))
