"""trading as it runs in production: `python -m services.trading` in its own process, mTLS,
registered in the real Consul, with the real identity, marketdata and portfolio processes and
the real Kafka carrying its outbox to portfolio's settlement and back to order streams."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import grpc
import pytest
import pytest_asyncio
from google.type import money_pb2
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc
from trademesh.marketdata.v1 import marketdata_pb2, marketdata_pb2_grpc
from trademesh.portfolio.v1 import portfolio_pb2, portfolio_pb2_grpc
from trademesh.trading.v1 import trading_pb2, trading_pb2_grpc

from mesh.client import ClientConfig, MeshClient
from mesh.infra import Consul, Kafka
from mesh.tls import TlsConfig, load_service_credentials
from tests.conftest import eventually
from tests.integration.services._process import ServiceProcess, launch, running_service
from tests.unit.interceptors.conftest import refused

PASSWORD = "correct horse battery staple"
# The mesh client's unary default; the order stream must outlive it.
UNARY_DEFAULT_SECONDS = 1.0
# Calls set their own deadline: on a loaded machine sign-up hashing alone can take a second.
CALL_SECONDS = 30.0


@dataclass
class Stack:
    trading: ServiceProcess
    portfolio: ServiceProcess
    mesh: MeshClient
    consul: Consul
    workdir: Path
    trading_env: dict[str, str]

    async def restart_trading(self) -> None:
        """A new trading process on the same store, as after a crash."""
        self.trading = await launch("trading", self.consul, self.workdir, self.trading_env)

    async def stub(self, stub_class: Any, service: str) -> Any:
        return await self.mesh.stub(stub_class, service)


@dataclass
class Trader:
    user_id: str
    token: str
    portfolio_id: str

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)


@pytest_asyncio.fixture(scope="module")
async def stack(
    consul: Consul, kafka: Kafka, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("trading-e2e")
    events = {
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
        "TRADEMESH_EVENTS_CLIENT_ID": f"trading-e2e-{uuid.uuid4().hex[:8]}",
    }
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            running_service(
                "identity",
                consul,
                workdir,
                {
                    **events,
                    "TRADEMESH_IDENTITY_SQLITE_PATH": str(workdir / "identity.db"),
                    "TRADEMESH_IDENTITY_DEFAULT_ROLES": "viewer,trader",
                },
            )
        )
        await stack.enter_async_context(
            running_service(
                "marketdata",
                consul,
                workdir,
                {
                    **events,
                    "TRADEMESH_MARKETDATA_SYMBOLS": "AAPL,MSFT",
                    "TRADEMESH_MARKETDATA_TICK_INTERVAL_SECONDS": "0.05",
                    "TRADEMESH_MARKETDATA_VOLATILITY": "1",  # per day: about 3 % a minute
                },
            )
        )
        portfolio = await stack.enter_async_context(
            running_service(
                "portfolio",
                consul,
                workdir,
                {
                    **events,
                    "TRADEMESH_PORTFOLIO_SQLITE_PATH": str(workdir / "portfolio.db"),
                    # Trades other suites left on trading.trades.v1 name portfolios this store
                    # never had: dead-letter them quickly instead of retrying each for seconds.
                    "TRADEMESH_EVENTS_CONSUMER_MAX_ATTEMPTS": "2",
                    "TRADEMESH_EVENTS_CONSUMER_BACKOFF_INITIAL_SECONDS": "0.05",
                },
            )
        )
        trading_env = {
            **events,
            "TRADEMESH_TRADING_SQLITE_PATH": str(workdir / "trading.db"),
            "TRADEMESH_TRADING_SWEEP_INTERVAL_SECONDS": "1",
            "TRADEMESH_TRADING_STALE_AFTER_SECONDS": "2",
        }
        running = Stack(
            await launch("trading", consul, workdir, trading_env),
            portfolio,
            cast(MeshClient, None),
            consul,
            workdir,
            trading_env,
        )

        async def stop_trading() -> None:
            try:
                await running.trading.stop()
            except TimeoutError:
                await running.trading.stop(signal.SIGKILL)

        stack.push_async_callback(stop_trading)
        credentials = load_service_credentials(TlsConfig(consul.state_dir / "tls"), "edge")
        mesh = MeshClient(
            ClientConfig(
                consul_address=consul.address, default_timeout_seconds=UNARY_DEFAULT_SECONDS
            ),
            credentials=credentials,
        )
        await stack.enter_async_context(mesh)
        running.mesh = mesh
        yield running


async def _trader(stack: Stack, cash: int = 100_000) -> Trader:
    identity = cast(
        "identity_pb2_grpc.IdentityServiceAsyncStub",
        await stack.stub(identity_pb2_grpc.IdentityServiceStub, "identity"),
    )
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    signed = await identity.Register(
        identity_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="Trader"),
        timeout=CALL_SECONDS,
    )
    token = signed.tokens.access_token
    portfolios = cast(
        "portfolio_pb2_grpc.PortfolioServiceAsyncStub",
        await stack.stub(portfolio_pb2_grpc.PortfolioServiceStub, "portfolio"),
    )
    created = await portfolios.CreatePortfolio(
        portfolio_pb2.CreatePortfolioRequest(
            name="main", initial_cash=money_pb2.Money(currency_code="USD", units=cash)
        ),
        metadata=(("authorization", f"Bearer {token}"),),
        timeout=CALL_SECONDS,
    )
    return Trader(signed.user.user_id, token, created.portfolio.portfolio_id)


async def _trading(stack: Stack) -> trading_pb2_grpc.TradingServiceAsyncStub:
    return cast(
        "trading_pb2_grpc.TradingServiceAsyncStub",
        await stack.stub(trading_pb2_grpc.TradingServiceStub, "trading"),
    )


async def _portfolio(stack: Stack, trader: Trader) -> portfolio_pb2.Portfolio:
    stub = cast(
        "portfolio_pb2_grpc.PortfolioServiceAsyncStub",
        await stack.stub(portfolio_pb2_grpc.PortfolioServiceStub, "portfolio"),
    )
    found = await stub.GetPortfolio(
        portfolio_pb2.GetPortfolioRequest(portfolio_id=trader.portfolio_id), metadata=trader.auth
    )
    return found.portfolio


async def _positions(stack: Stack, trader: Trader) -> dict[str, str]:
    stub = cast(
        "portfolio_pb2_grpc.PortfolioServiceAsyncStub",
        await stack.stub(portfolio_pb2_grpc.PortfolioServiceStub, "portfolio"),
    )
    found = await stub.ListPositions(
        portfolio_pb2.ListPositionsRequest(portfolio_id=trader.portfolio_id), metadata=trader.auth
    )
    return {p.symbol: p.quantity for p in found.positions}


def _money(value: money_pb2.Money) -> Decimal:
    return Decimal(value.units) + Decimal(value.nanos) / Decimal(1_000_000_000)


def _order(trader: Trader, client_order_id: str, **fields: Any) -> trading_pb2.PlaceOrderRequest:
    values: dict[str, Any] = {
        "portfolio_id": trader.portfolio_id,
        "client_order_id": client_order_id,
        "symbol": "AAPL",
        "side": 1,
        "order_type": trading_pb2.ORDER_TYPE_MARKET,
        "quantity": "3",
    }
    values.update(fields)
    return trading_pb2.PlaceOrderRequest(**values)


async def test_market_buy_settles_in_portfolio_exactly_once(stack: Stack) -> None:
    trader = await _trader(stack)
    trading = await _trading(stack)
    first = await trading.PlaceOrder(
        _order(trader, "buy-1"), metadata=trader.auth, timeout=CALL_SECONDS
    )
    again = await trading.PlaceOrder(
        _order(trader, "buy-1"), metadata=trader.auth, timeout=CALL_SECONDS
    )
    assert again.order.order_id == first.order.order_id

    async def filled() -> trading_pb2.Order | None:
        got = await trading.GetOrder(
            trading_pb2.GetOrderRequest(order_id=first.order.order_id), metadata=trader.auth
        )
        done = got.order.status == trading_pb2.ORDER_STATUS_FILLED
        return got.order if done else None

    order = await eventually(filled, timeout=30, what="the market order filled")
    trades = await trading.ListTrades(
        trading_pb2.ListTradesRequest(order_id=order.order_id), metadata=trader.auth
    )
    (trade,) = trades.trades
    cost = _money(trade.notional) + _money(trade.fee)

    async def settled() -> bool:
        portfolio = await _portfolio(stack, trader)
        positions = await _positions(stack, trader)
        return (
            _money(portfolio.cash_balance) == Decimal(100_000) - cost
            and _money(portfolio.reserved_cash) == 0
            and Decimal(positions.get("AAPL", "0")) == 3
        )

    await eventually(settled, timeout=60, what="portfolio settled the trade")

    # Selling more than is held is refused; selling what is held settles back to cash.
    code, reason = await refused(
        trading.PlaceOrder(
            _order(trader, "sell-4", side=2, quantity="4"),
            metadata=trader.auth,
            timeout=CALL_SECONDS,
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_HOLDINGS")
    sold = await trading.PlaceOrder(
        _order(trader, "sell-3", side=2), metadata=trader.auth, timeout=CALL_SECONDS
    )

    async def sale() -> trading_pb2.Trade | None:
        found = await trading.ListTrades(
            trading_pb2.ListTradesRequest(order_id=sold.order.order_id), metadata=trader.auth
        )
        return found.trades[0] if found.trades else None

    sell = await eventually(sale, timeout=30, what="the sell executed")
    proceeds = _money(sell.notional) - _money(sell.fee)

    async def sold_out() -> bool:
        portfolio = await _portfolio(stack, trader)
        positions = await _positions(stack, trader)
        return (
            _money(portfolio.cash_balance) == Decimal(100_000) - cost + proceeds
            and Decimal(positions.get("AAPL", "0")) == 0
        )

    await eventually(sold_out, timeout=60, what="portfolio settled the sale")


async def test_insufficient_cash_is_refused_with_nothing_reserved(stack: Stack) -> None:
    trader = await _trader(stack, cash=50)
    trading = await _trading(stack)
    code, reason = await refused(
        trading.PlaceOrder(
            _order(trader, "too-big", quantity="10"), metadata=trader.auth, timeout=CALL_SECONDS
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_CASH")
    portfolio = await _portfolio(stack, trader)
    assert _money(portfolio.reserved_cash) == 0
    listed = await trading.ListOrders(
        trading_pb2.ListOrdersRequest(), metadata=trader.auth, timeout=CALL_SECONDS
    )
    assert [o.status for o in listed.orders] == [trading_pb2.ORDER_STATUS_REJECTED]


async def test_limit_order_fills_when_the_simulated_price_crosses(stack: Stack) -> None:
    trader = await _trader(stack)
    trading = await _trading(stack)
    market = cast(
        "marketdata_pb2_grpc.MarketDataServiceAsyncStub",
        await stack.stub(marketdata_pb2_grpc.MarketDataServiceStub, "marketdata"),
    )
    quote = await market.GetQuote(
        marketdata_pb2.GetQuoteRequest(symbol="AAPL"), metadata=trader.auth
    )
    limit = (Decimal(quote.quote.ask_price) * Decimal("0.998")).quantize(Decimal("0.01"))
    placed = await trading.PlaceOrder(
        _order(
            trader,
            "limit-1",
            order_type=trading_pb2.ORDER_TYPE_LIMIT,
            limit_price=str(limit),
            quantity="1",
            time_in_force=trading_pb2.TIME_IN_FORCE_GTC,
        ),
        metadata=trader.auth,
    )
    assert placed.order.status in (trading_pb2.ORDER_STATUS_OPEN, trading_pb2.ORDER_STATUS_FILLED)

    async def filled() -> trading_pb2.Order | None:
        got = await trading.GetOrder(
            trading_pb2.GetOrderRequest(order_id=placed.order.order_id), metadata=trader.auth
        )
        return got.order if got.order.status == trading_pb2.ORDER_STATUS_FILLED else None

    lowest = Decimal(quote.quote.ask_price)

    async def filled_or_not_crossed() -> trading_pb2.Order | None:
        nonlocal lowest
        now = await market.GetQuote(
            marketdata_pb2.GetQuoteRequest(symbol="AAPL"),
            metadata=trader.auth,
            timeout=CALL_SECONDS,
        )
        lowest = min(lowest, Decimal(now.quote.ask_price))
        return await filled()

    try:
        order = await eventually(filled_or_not_crossed, timeout=120, what="the limit order filled")
    except AssertionError:
        log = [
            line
            for line in stack.trading.log().splitlines()
            if "quote feed" in line or "crossed" in line or "ERROR" in line
        ]
        raise AssertionError(
            f"limit {limit}, lowest ask polled {lowest}; trading log:\n" + "\n".join(log[-20:])
        ) from None
    assert Decimal(order.average_fill_price) <= limit


async def test_order_stream_outlives_the_unary_deadline_and_shows_only_own_orders(
    stack: Stack,
) -> None:
    alice, bob = await _trader(stack), await _trader(stack)
    trading = await _trading(stack)
    stream = trading.StreamOrderUpdates(
        trading_pb2.StreamOrderUpdatesRequest(), metadata=alice.auth
    )
    seen: list[trading_pb2.Order] = []
    filled = asyncio.Event()

    async def read() -> None:
        async for message in stream:
            seen.append(message.order)
            if message.order.status == trading_pb2.ORDER_STATUS_FILLED:
                filled.set()

    reader = asyncio.ensure_future(read())
    try:
        # Past the unary default deadline before anything happens on the stream.
        await asyncio.sleep(UNARY_DEFAULT_SECONDS * 2.5)
        assert not reader.done(), reader
        theirs = await trading.PlaceOrder(
            _order(bob, "bob-1"), metadata=bob.auth, timeout=CALL_SECONDS
        )
        mine = await trading.PlaceOrder(
            _order(alice, "alice-1"), metadata=alice.auth, timeout=CALL_SECONDS
        )
        await asyncio.wait_for(filled.wait(), 60)
    finally:
        stream.cancel()
        await asyncio.wait([reader], timeout=10)
    assert {o.order_id for o in seen} == {mine.order.order_id}

    code, _ = await refused(
        trading.GetOrder(
            trading_pb2.GetOrderRequest(order_id=theirs.order.order_id), metadata=alice.auth
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND


async def _answer(call: Any) -> trading_pb2.PlaceOrderResponse | grpc.aio.AioRpcError:
    try:
        response: trading_pb2.PlaceOrderResponse = await call
    except grpc.aio.AioRpcError as exc:
        return exc
    return response


async def test_sigkill_mid_flow_then_every_order_completes_or_is_released(stack: Stack) -> None:
    cash = Decimal(1_000_000)
    trader = await _trader(stack, cash=1_000_000)
    trading = await _trading(stack)
    requests = [
        _order(
            trader,
            f"crash-limit-{n}",
            order_type=trading_pb2.ORDER_TYPE_LIMIT,
            limit_price="1",
            quantity="1",
            time_in_force=trading_pb2.TIME_IN_FORCE_GTC,
        )
        for n in range(15)
    ] + [_order(trader, f"crash-market-{n}", quantity="1") for n in range(15)]
    calls = [
        asyncio.ensure_future(
            _answer(trading.PlaceOrder(r, metadata=trader.auth, timeout=CALL_SECONDS))
        )
        for r in requests
    ]

    async def some_answered() -> bool:
        return sum(call.done() for call in calls) >= 5

    await eventually(some_answered, timeout=30, interval=0.005, what="the first answers")
    await stack.trading.stop(signal.SIGKILL)  # mid-flow: some orders between saga steps
    await asyncio.wait(calls, timeout=30)
    await stack.restart_trading()

    # The client retries every request (the same client_order_id) until it is answered.
    async def placed(request: trading_pb2.PlaceOrderRequest) -> trading_pb2.Order | None:
        try:
            response = await trading.PlaceOrder(request, metadata=trader.auth, timeout=CALL_SECONDS)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return None
            raise
        return response.order

    orders = [await eventually(lambda r=r: placed(r), timeout=60) for r in requests]
    assert len({o.order_id for o in orders}) == len(requests)

    async def all_final() -> list[trading_pb2.Order] | None:
        listed = await trading.ListOrders(
            trading_pb2.ListOrdersRequest(page_size=1000), metadata=trader.auth
        )
        for order in listed.orders:
            if order.status == trading_pb2.ORDER_STATUS_OPEN:
                try:
                    await trading.CancelOrder(
                        trading_pb2.CancelOrderRequest(order_id=order.order_id),
                        metadata=trader.auth,
                    )
                except grpc.aio.AioRpcError as exc:
                    # It filled between the listing and the cancel: final either way.
                    if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                        raise
        final = {
            trading_pb2.ORDER_STATUS_FILLED,
            trading_pb2.ORDER_STATUS_CANCELLED,
            trading_pb2.ORDER_STATUS_REJECTED,
            trading_pb2.ORDER_STATUS_EXPIRED,
        }
        done = all(o.status in final for o in listed.orders)
        return list(listed.orders) if done and len(listed.orders) == len(requests) else None

    final_orders = await eventually(all_final, timeout=90, what="every order final")
    trades = await trading.ListTrades(
        trading_pb2.ListTradesRequest(page_size=1000), metadata=trader.auth
    )
    filled = [o for o in final_orders if o.status == trading_pb2.ORDER_STATUS_FILLED]
    assert sorted(t.order_id for t in trades.trades) == sorted(o.order_id for o in filled)
    cost = sum((_money(t.notional) + _money(t.fee) for t in trades.trades), Decimal(0))

    async def reconciled() -> bool:
        portfolio = await _portfolio(stack, trader)
        positions = await _positions(stack, trader)
        return (
            _money(portfolio.reserved_cash) == 0
            and _money(portfolio.cash_balance) == cash - cost
            and Decimal(positions.get("AAPL", "0")) == len(filled)
        )

    await eventually(reconciled, timeout=90, what="portfolio reconciled with the trades")
