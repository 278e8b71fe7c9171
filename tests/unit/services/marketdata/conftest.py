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
from prometheus_client import CollectorRegistry
from trademesh.marketdata.v1 import marketdata_pb2_grpc as pb_grpc

from interceptors import ServerInterceptorConfig, server_interceptors
from mesh.tokens import AsyncTokenVerifier, JwksCache, KeyRing, TokenConfig, TokenIssuer
from services.marketdata import (
    AssetClass,
    Instrument,
    MarketData,
    MarketDataConfig,
    Quote,
    QuoteSink,
    build_marketdata,
)

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

    issuer: TokenIssuer

    def access(self, *roles: str) -> str:
        return self.issuer.issue_access(
            subject=USER_ID, session_id="session-1", roles=roles or ("viewer",)
        ).token


def auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def token_config() -> TokenConfig:
    return TokenConfig()


@pytest.fixture
def ring(token_config: TokenConfig) -> KeyRing:
    return KeyRing.generate(retention_seconds=token_config.key_retention_seconds)


@pytest.fixture
def tokens(token_config: TokenConfig, ring: KeyRing) -> Tokens:
    return Tokens(TokenIssuer(token_config, ring))


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
async def served(
    marketdata: MarketData, token_config: TokenConfig, ring: KeyRing
) -> AsyncIterator[Served]:
    """The service on a real grpc.aio server on 127.0.0.1:0 behind the real server chain,
    whose verifier reads the ring's JWKS (identity's GetJwks in production)."""

    async def jwks() -> dict[str, Any]:
        return ring.jwks()

    chain = server_interceptors(
        ServerInterceptorConfig(
            service_name="marketdata",
            verifier=AsyncTokenVerifier(JwksCache(jwks), token_config),
            registry=CollectorRegistry(),
        )
    )
    server = grpc.aio.server(interceptors=chain)
    for servicer in marketdata.service_spec().servicers:
        servicer.add_to_server(servicer.implementation, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    address = f"127.0.0.1:{port}"
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            yield Served(marketdata, address, channel, pb_grpc.MarketDataServiceStub(channel))
    finally:
        await server.stop(STOP_GRACE_SECONDS)
