"""The portfolio service as it runs in production: `python -m services.portfolio` in its own
process next to a real identity process, mTLS, registered in the real Consul, fed by the real
Kafka, called through the mesh client as the edge (users) and as trading (the saga)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2
from google.type import money_pb2
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc
from trademesh.portfolio.v1 import portfolio_pb2 as pb
from trademesh.portfolio.v1 import portfolio_pb2_grpc as pb_grpc

from interceptors import bearer_metadata, status_details
from mesh.client import ClientConfig, MeshClient
from mesh.discovery import ConsulClient
from mesh.events import TRADES, EventsConfig, Producer
from mesh.infra import Consul, Kafka
from mesh.tls import TlsConfig, load_service_credentials
from tests.conftest import eventually
from tests.integration.services._process import ServiceProcess, launch
from tests.integration.services.portfolio.test_kafka import trade_executed

ADMIN = ("root@portfolio.test", "admin password of some length")
PASSWORD = "correct horse battery staple"
TIMEOUT = 60.0


@dataclass
class Stack:
    identity: ServiceProcess
    portfolio: ServiceProcess
    edge: MeshClient
    trading: MeshClient
    producer: Producer


@pytest_asyncio.fixture(scope="module")
async def stack(
    consul: Consul, kafka: Kafka, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    workdir = tmp_path_factory.mktemp("portfolio-process")
    events = {
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
        "TRADEMESH_EVENTS_CONSUMER_MAX_ATTEMPTS": "2",
        "TRADEMESH_EVENTS_CONSUMER_BACKOFF_INITIAL_SECONDS": "0.05",
    }
    identity = await launch(
        "identity",
        consul,
        workdir,
        {
            "TRADEMESH_IDENTITY_SQLITE_PATH": str(workdir / "identity.db"),
            "TRADEMESH_IDENTITY_ADMIN_EMAIL": ADMIN[0],
            "TRADEMESH_IDENTITY_ADMIN_PASSWORD": ADMIN[1],
            "TRADEMESH_IDENTITY_DEFAULT_ROLES": "viewer,trader",
            **events,
        },
    )
    try:
        portfolio = await launch(
            "portfolio",
            consul,
            workdir,
            {
                "TRADEMESH_PORTFOLIO_SQLITE_PATH": str(workdir / "portfolio.db"),
                "TRADEMESH_PORTFOLIO_CONSUMER_GROUP": f"portfolio-{uuid.uuid4().hex[:8]}",
                "TRADEMESH_PORTFOLIO_QUOTE_TIMEOUT_SECONDS": "0.5",
                **events,
            },
        )
        try:
            tls = TlsConfig(consul.state_dir / "tls")
            config = ClientConfig(consul_address=consul.address)
            edge = MeshClient(config, credentials=load_service_credentials(tls, "edge"))
            trading = MeshClient(config, credentials=load_service_credentials(tls, "trading"))
            producer = Producer(
                EventsConfig(bootstrap_servers=kafka.address, client_id="portfolio-e2e"),
                source="trading-e2e",
            )
            async with edge, trading, producer:
                yield Stack(identity, portfolio, edge, trading, producer)
        finally:
            await portfolio.stop()
    finally:
        await identity.stop()


@dataclass
class User:
    user_id: str
    metadata: tuple[tuple[str, str], ...]


async def _register(stack: Stack) -> User:
    stub: Any = await stack.edge.stub(identity_pb2_grpc.IdentityServiceStub, "identity")
    email = f"u{uuid.uuid4().hex[:8]}@portfolio.test"
    registered = await stub.Register(
        identity_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="Trader")
    )
    return User(registered.user.user_id, (bearer_metadata(registered.tokens.access_token),))


async def _user_stub(stack: Stack) -> Any:
    return await stack.edge.stub(pb_grpc.PortfolioServiceStub, "portfolio")


async def _trading_stub(stack: Stack) -> Any:
    return await stack.trading.stub(pb_grpc.PortfolioServiceStub, "portfolio")


def _usd(units: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="USD", units=units)


async def _create(stack: Stack, user: User, cash: int = 10_000) -> pb.Portfolio:
    stub = await _user_stub(stack)
    created = await stub.CreatePortfolio(
        pb.CreatePortfolioRequest(name=f"p-{uuid.uuid4().hex[:6]}", initial_cash=_usd(cash)),
        metadata=user.metadata,
    )
    portfolio: pb.Portfolio = created.portfolio
    return portfolio


async def test_the_saga_through_the_mesh_and_kafka(stack: Stack) -> None:
    alice = await _register(stack)
    portfolio = await _create(stack, alice)
    pid = portfolio.portfolio_id
    trading = await _trading_stub(stack)
    trade = trade_executed(pid, quantity="10", price="100")
    reserved = await trading.ReserveCash(
        pb.ReserveCashRequest(
            portfolio_id=pid,
            order_id=trade.trade.order_id,
            user_id=alice.user_id,
            amount=_usd(1100),
        )
    )
    assert reserved.available_cash.units == 8900

    with pytest.raises(grpc.aio.AioRpcError) as short:
        await trading.ReserveCash(
            pb.ReserveCashRequest(
                portfolio_id=pid,
                order_id=str(uuid.uuid4()),
                user_id=alice.user_id,
                amount=_usd(9000),
            )
        )
    details = status_details(short.value)
    assert details.code == grpc.StatusCode.FAILED_PRECONDITION
    info = details.find(error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "INSUFFICIENT_CASH"

    await stack.producer.send(TRADES, trade, key=pid)
    await stack.producer.send(TRADES, trade, key=pid)  # delivered twice, applied once
    user = await _user_stub(stack)

    async def settled() -> pb.Portfolio | None:
        got = await user.GetPortfolio(
            pb.GetPortfolioRequest(portfolio_id=pid), metadata=alice.metadata
        )
        return got.portfolio if got.portfolio.reserved_cash.units == 0 else None

    after = await eventually(settled, timeout=TIMEOUT, what="the trade settled")
    assert after.cash_balance.units == 8999
    positions = await user.ListPositions(
        pb.ListPositionsRequest(portfolio_id=pid), metadata=alice.metadata
    )
    # No marketdata runs here: the position comes back without market fields, in time.
    assert [(p.symbol, p.quantity, p.market_price) for p in positions.positions] == [
        ("AAPL", "10", "")
    ]
    exported = await user.ExportPortfolio(
        pb.ExportPortfolioRequest(portfolio_id=pid), metadata=alice.metadata
    )
    assert b"POSITION,AAPL,10," in exported.content


async def test_watch_outlives_the_unary_deadline_and_sees_trades(stack: Stack) -> None:
    alice = await _register(stack)
    portfolio = await _create(stack, alice)
    pid = portfolio.portfolio_id
    user = await _user_stub(stack)
    call = user.WatchPortfolio(pb.WatchPortfolioRequest(portfolio_id=pid), metadata=alice.metadata)
    first = await asyncio.wait_for(call.read(), TIMEOUT)
    assert first.portfolio.portfolio_id == pid

    loop = asyncio.get_running_loop()
    opened = loop.time()
    while loop.time() - opened < stack.edge.config.default_timeout_seconds + 1:
        await asyncio.sleep(0.5)
    assert not call.done()

    trade = trade_executed(pid, quantity="3", price="50")
    await stack.producer.send(TRADES, trade, key=pid)
    update = await asyncio.wait_for(call.read(), TIMEOUT)
    assert [(p.symbol, p.quantity) for p in update.positions] == [("AAPL", "3")]
    assert Decimal(update.portfolio.cash_balance.units) == 10_000 - 151
    call.cancel()


async def test_another_users_portfolio_cannot_be_read_or_watched(stack: Stack) -> None:
    alice, bob = await _register(stack), await _register(stack)
    portfolio = await _create(stack, alice)
    user = await _user_stub(stack)
    request = pb.GetPortfolioRequest(portfolio_id=portfolio.portfolio_id)
    with pytest.raises(grpc.aio.AioRpcError) as read:
        await user.GetPortfolio(request, metadata=bob.metadata)
    assert read.value.code() == grpc.StatusCode.NOT_FOUND
    call = user.WatchPortfolio(
        pb.WatchPortfolioRequest(portfolio_id=portfolio.portfolio_id), metadata=bob.metadata
    )
    with pytest.raises(grpc.aio.AioRpcError) as watched:
        await asyncio.wait_for(call.read(), TIMEOUT)
    assert watched.value.code() == grpc.StatusCode.NOT_FOUND
    # The edge is no trading service: it cannot move cash.
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await user.ReserveCash(
            pb.ReserveCashRequest(
                portfolio_id=portfolio.portfolio_id,
                order_id=str(uuid.uuid4()),
                user_id=alice.user_id,
                amount=_usd(1),
            ),
            metadata=alice.metadata,
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_sigterm_deregisters_and_exits_cleanly(consul: Consul, stack: Stack) -> None:
    await stack.edge.connect("portfolio")
    (instance,) = stack.edge.instances("portfolio")
    assert await stack.portfolio.stop() == 0, stack.portfolio.log()
    async with ConsulClient(consul.address) as client:
        assert await client.check_status(instance.instance_id) is None
