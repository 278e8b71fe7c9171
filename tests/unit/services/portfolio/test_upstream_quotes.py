"""Valuations priced by a marketdata-like server behind the real server interceptor chain,
called through the real client chain: the caller's token travels with the quote lookups
(marketdata's GetQuotes is for signed-in users), and a failing marketdata only costs the
market fields."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest_asyncio
from prometheus_client import CollectorRegistry
from trademesh.marketdata.v1 import marketdata_pb2_grpc as md_grpc
from trademesh.portfolio.v1 import portfolio_pb2

from mesh import context as call_context
from mesh.client import ClientInterceptorConfig, client_interceptors
from services.portfolio import MarketDataQuotes, Portfolio, PortfolioConfig, build_portfolio
from tests.unit.services._mesh import listening
from tests.unit.services._mesh import servicer as stand_in

from .conftest import ALICE, TIMEOUT, Running, Users, amount, create, settle_request
from .test_quotes import MarketData, quote

pb = portfolio_pb2


class WatchingMarketData(MarketData):
    """Records who each quote lookup was made for."""

    def __init__(self) -> None:
        super().__init__()
        self.users: list[str | None] = []

    async def GetQuotes(self, request: Any, context: Any) -> Any:
        principal = call_context.current().principal
        self.users.append(None if principal is None else principal.user_id)
        return await super().GetQuotes(request, context)


@pytest_asyncio.fixture
async def marketdata(users: Users) -> AsyncIterator[tuple[WatchingMarketData, grpc.aio.Channel]]:
    servicer = WatchingMarketData()
    servicer.table = {"AAPL": quote("AAPL", "125.5", "120")}
    interceptors = client_interceptors(ClientInterceptorConfig(registry=CollectorRegistry()))
    async with (
        listening(
            [stand_in(md_grpc.add_MarketDataServiceServicer_to_server, servicer)],
            service_name="marketdata",
            verifier=users.signer.verifier(),
        ) as server,
        grpc.aio.insecure_channel(server.address, interceptors=interceptors) as channel,
    ):
        yield servicer, channel


@pytest_asyncio.fixture
async def service(
    config: PortfolioConfig, marketdata: tuple[WatchingMarketData, grpc.aio.Channel]
) -> AsyncIterator[Portfolio]:
    _, channel = marketdata

    async def connect() -> grpc.aio.Channel:
        return channel

    built = await build_portfolio(config, quotes=MarketDataQuotes(connect, timeout_seconds=5))
    try:
        yield built
    finally:
        await built.close()


async def test_positions_are_priced_with_the_callers_token(
    running: Running, marketdata: tuple[WatchingMarketData, grpc.aio.Channel]
) -> None:
    servicer, _ = marketdata
    portfolio = await create(running, ALICE, cash="10000")
    await running.trading.SettleTrade(
        settle_request(portfolio, order_id=str(uuid.uuid4()), quantity="4", price="100"),
        timeout=TIMEOUT,
    )
    listed = await running.user.ListPositions(
        pb.ListPositionsRequest(portfolio_id=portfolio.portfolio_id),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    (position,) = listed.positions
    assert position.market_price == "125.5"
    assert amount(position.market_value) == 502
    assert servicer.users == [ALICE]

    day = await running.user.GetPerformance(
        pb.GetPerformanceRequest(
            portfolio_id=portfolio.portfolio_id, period=pb.PERFORMANCE_PERIOD_DAY
        ),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    # Bought today at 100 (+1 fee): the day's change is 4 x 125.5 - 401.
    assert amount(day.performance.period_change) == 101
    assert servicer.users == [ALICE, ALICE]


async def test_a_failing_marketdata_only_costs_the_market_fields(
    running: Running, marketdata: tuple[WatchingMarketData, grpc.aio.Channel]
) -> None:
    servicer, _ = marketdata
    portfolio = await create(running, ALICE, cash="10000")
    await running.trading.SettleTrade(
        settle_request(portfolio, order_id=str(uuid.uuid4()), symbol="ZZZ", quantity="1"),
        timeout=TIMEOUT,
    )
    servicer.table = {}  # every lookup now answers NOT_FOUND
    listed = await running.user.ListPositions(
        pb.ListPositionsRequest(portfolio_id=portfolio.portfolio_id),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    assert [(p.symbol, p.market_price) for p in listed.positions] == [("ZZZ", "")]
