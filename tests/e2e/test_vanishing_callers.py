"""Callers that vanish across the platform: hundreds of calls with tiny deadlines or with
their channel closed under them, then every service still answers reads and writes, and the
orders that got through are whole. Once on SQLite, once with every service on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any

import grpc
import pytest
import pytest_asyncio
from trademesh.identity.v1 import identity_pb2
from trademesh.marketdata.v1 import marketdata_pb2
from trademesh.notification.v1 import notification_pb2
from trademesh.portfolio.v1 import portfolio_pb2
from trademesh.trading.v1 import trading_pb2

from tests._postgres import PostgresServer
from tests.conftest import eventually
from tests.e2e._books import reconciled
from tests.e2e._platform import SERVICES, Platform, PlatformOptions, own_infra, running_platform
from tests.e2e._users import PASSWORD, Trader, new_trader, order_request, place

ROUNDS = 4
CALLS_PER_ROUND = 80
# Deadlines from well under a round trip to about one; None keeps the client's default.
DEADLINES = (0.001, 0.003, 0.01, 0.03, 0.1, None)
# Calls answered before the channel is closed under the rest.
ANSWERED_BEFORE_CLOSE = 5


@pytest.fixture(scope="module")
def databases(postgres: PostgresServer) -> Iterator[dict[str, str]]:
    names = {service: postgres.create_database() for service in SERVICES}
    try:
        yield {service: postgres.url(name) for service, name in names.items()}
    finally:
        for name in names.values():
            postgres.drop_database(name)


@pytest_asyncio.fixture(scope="module")
async def postgres_platform(
    databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """The five services each on its own PostgreSQL database, with a Consul and a Kafka of
    their own (the service names are the same as the shared platform's)."""
    workdir = tmp_path_factory.mktemp("postgres-platform")
    options = PlatformOptions(database_urls=databases)
    async with own_infra(workdir / "infra") as infra:
        async with running_platform(infra.consul, infra.kafka.address, workdir, options) as up:
            yield up


@pytest.fixture(params=["sqlite", "postgresql"])
def any_platform(request: pytest.FixtureRequest) -> Platform:
    name = "platform" if request.param == "sqlite" else "postgres_platform"
    found: Platform = request.getfixturevalue(name)
    return found


async def _settle(call: Awaitable[Any]) -> str:
    """How a call ended, by status code name."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code().name
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # this task is being cancelled, not only the call
        return "CANCELLED"  # a call cancelled on the client (its channel closed) raises this
    return "OK"


async def _storm(
    platform: Platform, trader: Trader, round_no: int, rng: random.Random
) -> Counter[str]:
    """One client with CALLS_PER_ROUND calls in flight across the services, some with tiny
    deadlines; its channels are closed once a few have been answered."""
    mesh = platform.client()
    await mesh.start()
    try:
        stubs = {name: await platform.stub(name, mesh) for name in SERVICES}
        meta = trader.metadata
        calls: list[Awaitable[Any]] = []
        for i in range(CALLS_PER_ROUND):
            timeout = rng.choice(DEADLINES)
            kind = i % 8
            if kind < 4:
                request = order_request(trader, "KO", "1", client_order_id=f"v{round_no}-{i}")
                call = stubs["trading"].PlaceOrder(request, metadata=meta, timeout=timeout)
            elif kind < 6:
                call = stubs["portfolio"].GetPortfolio(
                    portfolio_pb2.GetPortfolioRequest(portfolio_id=trader.portfolio_id),
                    metadata=meta,
                    timeout=timeout,
                )
            elif kind == 6:
                call = stubs["identity"].Login(
                    identity_pb2.LoginRequest(email=trader.email, password=PASSWORD),
                    timeout=timeout,
                )
            else:
                call = stubs["notification"].MarkRead(
                    notification_pb2.MarkReadRequest(all=True), metadata=meta, timeout=timeout
                )
            calls.append(call)
        tasks = [asyncio.ensure_future(_settle(call)) for call in calls]
        pending: set[asyncio.Future[str]] = set(tasks)
        while len(tasks) - len(pending) < ANSWERED_BEFORE_CLOSE and pending:
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await mesh.stop()  # closes the channels under whatever is still in flight
    return Counter(await asyncio.gather(*tasks))


async def _serves_reads_and_writes(platform: Platform) -> None:
    """A new user signs up, funds a portfolio, trades, and reads it all back, everywhere."""
    newcomer = await new_trader(platform, "5000")  # identity and portfolio writes
    quote = await (await platform.stub("marketdata")).GetQuote(
        marketdata_pb2.GetQuoteRequest(symbol="KO"), metadata=newcomer.metadata
    )
    assert quote.quote.ask_price
    order = await place(platform, newcomer, "KO", "1")  # trading, and portfolio's reservation
    books = await reconciled(platform, newcomer)  # the fill, and its settlement through Kafka
    assert [o.status for o in books.orders] == [trading_pb2.ORDER_STATUS_FILLED], books.orders
    trading = await platform.stub("trading")
    got = await trading.GetOrder(
        trading_pb2.GetOrderRequest(order_id=order.order_id), metadata=newcomer.metadata
    )
    assert got.order.status == trading_pb2.ORDER_STATUS_FILLED, got.order
    assert books.positions == {"KO": 1}
    notification = await platform.stub("notification")
    await notification.ListNotifications(
        notification_pb2.ListNotificationsRequest(), metadata=newcomer.metadata
    )
    await notification.MarkRead(
        notification_pb2.MarkReadRequest(all=True), metadata=newcomer.metadata
    )


async def test_vanishing_callers_leave_every_service_serving(any_platform: Platform) -> None:
    platform = any_platform
    await _serves_reads_and_writes(platform)  # and every service has identity's keys now
    trader = await new_trader(platform, "1000000")
    rng = random.Random(6)
    outcomes: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        outcomes += await _storm(platform, trader, round_no, rng)
    # The storm did what it is for: calls cut short by their deadline and by the close.
    assert outcomes["DEADLINE_EXCEEDED"] > 0 and outcomes["CANCELLED"] > 0, outcomes
    assert not set(outcomes) - {"OK", "DEADLINE_EXCEEDED", "CANCELLED", "UNAVAILABLE"}, outcomes

    await _serves_reads_and_writes(platform)
    # Whatever of the storm's orders got in is final and settled, with no cash left reserved.
    books = await reconciled(platform, trader, timeout=90)
    assert books.held_by_portfolio == {}, books.held_by_portfolio


async def test_a_vanished_first_caller_does_not_lock_a_fresh_service_out(
    platform: Platform,
) -> None:
    trader = await new_trader(platform)
    await platform.restart("trading")  # a fresh process, its first callers gone at once
    trading = await platform.stub("trading")
    request = trading_pb2.ListOrdersRequest()
    first = [
        await _settle(trading.ListOrders(request, metadata=trader.metadata, timeout=timeout))
        for timeout in (0.002, 0.005, 0.01, 0.02, 0.05)
    ]
    # The shortest deadlines pass before any answer could come back.
    assert first[0] == "DEADLINE_EXCEEDED", first

    async def answers() -> bool:
        return await _settle(trading.ListOrders(request, metadata=trader.metadata)) == "OK"

    await eventually(answers, timeout=5, what="trading answering a caller with a deadline to spare")
