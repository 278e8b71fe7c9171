"""Fixtures for the portfolio tests: the assembled service on a temp SQLite file behind a real
grpc.aio server on loopback running the real interceptor chain, real signed user tokens, and
mesh certificates from a CA made for the test (trading and edge callers over mTLS).

Kafka is not started here: events stay in the outbox table, where the tests read them. The
quote source is `FixedQuotes`, a stand-in for marketdata (tests of `MarketDataQuotes` run a
real in-process marketdata-like server instead).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import money_pb2
from trademesh.common.v1 import types_pb2
from trademesh.portfolio.v1 import events_pb2, portfolio_pb2, portfolio_pb2_grpc

from mesh import money
from mesh.tls import TlsConfig, channel_options
from services.portfolio import Portfolio, PortfolioConfig, Price, build_portfolio
from tests.unit.services._mesh import Signer, bearer, certificates, listening

ALICE = "0b8a9a63-1c1d-4d1e-8f53-5a7c1f0e2a01"
BOB = "6c3e2f4a-9d1b-4c7e-a2f5-3b8d0e1c7a02"
ROOT = "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a03"
TIMEOUT = 10.0

Stub = Any  # portfolio_pb2_grpc.PortfolioServiceAsyncStub exists only in the .pyi


@dataclass
class FixedQuotes:
    """A stand-in for marketdata: the prices the test put in, nothing else."""

    table: dict[str, Price] = field(default_factory=dict)

    def set(self, symbol: str, price: str, previous_close: str | None = None) -> None:
        close = None if previous_close is None else Decimal(previous_close)
        self.table[symbol] = Price(symbol, Decimal(price), close, time.time())

    async def prices(self, symbols: Collection[str]) -> dict[str, Price]:
        return {s: self.table[s] for s in symbols if s in self.table}


@dataclass
class Users:
    signer: Signer

    def token(self, user_id: str, *roles: str) -> str:
        return self.signer.access(
            user_id, roles or ("trader",), session_id=f"session-{user_id[:8]}"
        )

    def auth(self, user_id: str, *roles: str) -> tuple[tuple[str, str], ...]:
        return bearer(self.token(user_id, *roles))


@dataclass
class Running:
    service: Portfolio
    quotes: FixedQuotes
    users: Users
    user: Stub  # plaintext: end users with tokens
    trading: Stub  # mTLS as the trading service
    edge: Stub  # mTLS as the edge (not allowed on trading-only RPCs)
    address: str
    secure_address: str
    tls: TlsConfig

    def as_user(self, user_id: str, *roles: str) -> tuple[tuple[str, str], ...]:
        return self.users.auth(user_id, *roles)


def usd(amount: str, currency: str = "USD") -> money_pb2.Money:
    return money.to_money(Decimal(amount), currency)


def amount(message: money_pb2.Money) -> Decimal:
    return money.from_money(message)


@pytest.fixture
def users() -> Users:
    return Users(Signer.generate())


@pytest.fixture
def quotes() -> FixedQuotes:
    return FixedQuotes()


@pytest.fixture
def config(tmp_path: Path) -> PortfolioConfig:
    return PortfolioConfig(sqlite_path=tmp_path / "portfolio.sqlite3")


@pytest_asyncio.fixture
async def service(config: PortfolioConfig, quotes: FixedQuotes) -> AsyncIterator[Portfolio]:
    built = await build_portfolio(config, quotes=quotes)
    try:
        yield built
    finally:
        await built.close()


def _stub(channel: grpc.aio.Channel) -> Stub:
    return portfolio_pb2_grpc.PortfolioServiceStub(channel)


@pytest_asyncio.fixture
async def running(
    service: Portfolio, quotes: FixedQuotes, users: Users, tmp_path: Path
) -> AsyncIterator[Running]:
    credentials = certificates(tmp_path, ("portfolio", "trading", "edge"))
    options = channel_options("portfolio")
    async with listening(
        service.service_spec().servicers,
        service_name="portfolio",
        verifier=users.signer.verifier(),
        credentials=credentials["portfolio"],
    ) as server:
        secure = server.secure_address
        trading_creds = credentials["trading"].channel_credentials()
        edge_creds = credentials["edge"].channel_credentials()
        async with (
            grpc.aio.insecure_channel(server.address) as plain,
            grpc.aio.secure_channel(secure, trading_creds, options=options) as trading,
            grpc.aio.secure_channel(secure, edge_creds, options=options) as edge,
        ):
            yield Running(
                service=service,
                quotes=quotes,
                users=users,
                user=_stub(plain),
                trading=_stub(trading),
                edge=_stub(edge),
                address=server.address,
                secure_address=secure,
                tls=TlsConfig.for_state_dir(tmp_path),
            )


async def create(
    running: Running, user_id: str = ALICE, cash: str = "10000", name: str | None = None
) -> portfolio_pb2.Portfolio:
    response = await running.user.CreatePortfolio(
        portfolio_pb2.CreatePortfolioRequest(
            name=name or f"p-{uuid.uuid4().hex[:8]}", initial_cash=usd(cash)
        ),
        metadata=running.as_user(user_id),
        timeout=TIMEOUT,
    )
    portfolio: portfolio_pb2.Portfolio = response.portfolio
    return portfolio


def reserve_request(
    portfolio: portfolio_pb2.Portfolio, cash: str, order_id: str | None = None
) -> portfolio_pb2.ReserveCashRequest:
    return portfolio_pb2.ReserveCashRequest(
        portfolio_id=portfolio.portfolio_id,
        order_id=order_id or str(uuid.uuid4()),
        user_id=portfolio.user_id,
        amount=usd(cash),
    )


def settle_request(
    portfolio: portfolio_pb2.Portfolio,
    *,
    order_id: str,
    symbol: str = "AAPL",
    side: str = "buy",
    quantity: str = "10",
    price: str = "100",
    fee: str = "1",
    trade_id: str | None = None,
) -> portfolio_pb2.SettleTradeRequest:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return portfolio_pb2.SettleTradeRequest(
        portfolio_id=portfolio.portfolio_id,
        trade_id=trade_id or str(uuid.uuid4()),
        order_id=order_id,
        symbol=symbol,
        side=types_pb2.SIDE_BUY if side == "buy" else types_pb2.SIDE_SELL,
        quantity=quantity,
        price=price,
        notional=usd(str(Decimal(quantity) * Decimal(price))),
        fee=usd(fee),
        execute_time=stamp,
    )


async def outbox_events(service: Portfolio) -> list[events_pb2.PortfolioUpdated]:
    """Every PortfolioUpdated in the outbox, in order."""
    async with service.db.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT payload FROM outbox WHERE topic = ? ORDER BY seq", ("portfolio.updates.v1",)
        )
    return [events_pb2.PortfolioUpdated.FromString(bytes(row[0])) for row in rows]


async def expect(code: grpc.StatusCode, call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == code, info.value.details()
    return info.value
