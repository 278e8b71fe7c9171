"""Server streams through the mesh client, across services: they outlive the client's unary
default deadline, carry a trade's consequences from every service, and show a user nothing
of anyone else's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from trademesh.marketdata.v1 import marketdata_pb2
from trademesh.notification.v1 import notification_pb2
from trademesh.portfolio.v1 import portfolio_pb2
from trademesh.trading.v1 import trading_pb2

from interceptors import status_details
from mesh.client import ClientConfig
from tests.conftest import eventually
from tests.e2e._books import portfolio_of, reconciled
from tests.e2e._platform import Platform
from tests.e2e._users import new_trader, place

UNARY_DEADLINE_SECONDS = 1.0
HIDDEN = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)


@dataclass
class Reader:
    """Reads one stream in the background: (arrival time, message) pairs, and how it ended."""

    call: Any
    received: list[tuple[float, Any]] = field(default_factory=list)
    ended: BaseException | None = None
    task: asyncio.Task[None] | None = None

    def start(self) -> Reader:
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for message in self.call:
                self.received.append((loop.time(), message))
        except grpc.aio.AioRpcError as error:
            self.ended = error
        else:
            self.ended = EOFError("the stream ended")

    def after(self, moment: float) -> list[Any]:
        return [message for at, message in self.received if at > moment]

    async def close(self) -> None:
        self.call.cancel()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def _has(find: Callable[[], object]) -> Callable[[], Awaitable[object]]:
    async def probe() -> object:
        return find()

    return probe


async def test_streams_deliver_past_the_unary_default_deadline(platform: Platform) -> None:
    trader = await new_trader(platform)
    config = ClientConfig(
        consul_address=platform.consul.address, default_timeout_seconds=UNARY_DEADLINE_SECONDS
    )
    async with platform.client(config) as mesh:
        marketdata = await platform.stub("marketdata", mesh)
        portfolio = await platform.stub("portfolio", mesh)
        trading = await platform.stub("trading", mesh)
        notification = await platform.stub("notification", mesh)
        meta = trader.metadata
        readers = {
            "quotes": marketdata.StreamQuotes(
                marketdata_pb2.StreamQuotesRequest(symbols=["KO"]), metadata=meta
            ),
            "portfolio": portfolio.WatchPortfolio(
                portfolio_pb2.WatchPortfolioRequest(portfolio_id=trader.portfolio_id),
                metadata=meta,
            ),
            "orders": trading.StreamOrderUpdates(
                trading_pb2.StreamOrderUpdatesRequest(), metadata=meta
            ),
            "notifications": notification.StreamNotifications(
                notification_pb2.StreamNotificationsRequest(), metadata=meta
            ),
        }
        streams = {name: Reader(call).start() for name, call in readers.items()}
        try:
            loop = asyncio.get_running_loop()
            past_deadline = loop.time() + 2 * UNARY_DEADLINE_SECONDS
            quotes = streams["quotes"]
            await eventually(
                _has(lambda: quotes.after(past_deadline)),
                timeout=30,
                what=f"quotes after twice the unary deadline (ended: {quotes.ended!r})",
            )
            assert all(reader.ended is None for reader in streams.values()), {
                name: reader.ended for name, reader in streams.items()
            }

            # A trade now reaches the caller through every other stream.
            order = await place(platform, trader, "KO", "2", mesh=mesh)
            updates = streams["orders"]
            await eventually(
                _has(
                    lambda: any(
                        u.order.order_id == order.order_id
                        and u.order.status == trading_pb2.ORDER_STATUS_FILLED
                        for u in updates.after(past_deadline)
                    )
                ),
                timeout=30,
                what=f"the FILLED update on StreamOrderUpdates (ended: {updates.ended!r})",
            )
            watch = streams["portfolio"]
            await eventually(
                _has(
                    lambda: any(
                        {p.symbol: Decimal(p.quantity) for p in w.positions}.get("KO") == 2
                        for w in watch.after(past_deadline)
                    )
                ),
                timeout=30,
                what=f"the settled position on WatchPortfolio (ended: {watch.ended!r})",
            )
            feed = streams["notifications"]
            await eventually(
                _has(
                    lambda: any(
                        n.notification.attributes.get("order_id") == order.order_id
                        and n.notification.kind == notification_pb2.NOTIFICATION_KIND_TRADE_EXECUTED
                        for n in feed.after(past_deadline)
                    )
                ),
                timeout=30,
                what=f"the trade on StreamNotifications (ended: {feed.ended!r})",
            )
            assert all(reader.ended is None for reader in streams.values()), {
                name: reader.ended for name, reader in streams.items()
            }
        finally:
            for reader in streams.values():
                await reader.close()


async def _hidden(call: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() in HIDDEN, info.value


async def test_a_user_cannot_read_or_watch_another_users_portfolio_or_orders(
    platform: Platform,
) -> None:
    owner = await new_trader(platform)
    other = await new_trader(platform)
    portfolio = await platform.stub("portfolio")
    trading = await platform.stub("trading")
    theirs = other.metadata
    other_updates = Reader(
        trading.StreamOrderUpdates(trading_pb2.StreamOrderUpdatesRequest(), metadata=theirs)
    ).start()
    try:
        order = await place(platform, owner, "KO", "1")
        await reconciled(platform, owner)
        pid = owner.portfolio_id

        await _hidden(
            portfolio.GetPortfolio(
                portfolio_pb2.GetPortfolioRequest(portfolio_id=pid), metadata=theirs
            )
        )
        await _hidden(
            portfolio.ListPositions(
                portfolio_pb2.ListPositionsRequest(portfolio_id=pid), metadata=theirs
            )
        )
        await _hidden(
            portfolio.GetPerformance(
                portfolio_pb2.GetPerformanceRequest(portfolio_id=pid), metadata=theirs
            )
        )
        await _hidden(
            portfolio.ExportPortfolio(
                portfolio_pb2.ExportPortfolioRequest(portfolio_id=pid), metadata=theirs
            )
        )
        watch = portfolio.WatchPortfolio(
            portfolio_pb2.WatchPortfolioRequest(portfolio_id=pid), metadata=theirs
        )
        await _hidden(watch.read())
        listed = await portfolio.ListPortfolios(
            portfolio_pb2.ListPortfoliosRequest(), metadata=theirs
        )
        assert [p.portfolio_id for p in listed.portfolios] == [other.portfolio_id]

        await _hidden(
            trading.GetOrder(trading_pb2.GetOrderRequest(order_id=order.order_id), metadata=theirs)
        )
        await _hidden(
            trading.CancelOrder(
                trading_pb2.CancelOrderRequest(order_id=order.order_id), metadata=theirs
            )
        )
        await _hidden(
            trading.ListOrders(
                trading_pb2.ListOrdersRequest(user_id=owner.user_id), metadata=theirs
            )
        )
        await _hidden(
            trading.ListTrades(
                trading_pb2.ListTradesRequest(user_id=owner.user_id), metadata=theirs
            )
        )
        orders = await trading.ListOrders(
            trading_pb2.ListOrdersRequest(portfolio_id=pid), metadata=theirs
        )
        trades = await trading.ListTrades(
            trading_pb2.ListTradesRequest(portfolio_id=pid), metadata=theirs
        )
        assert list(orders.orders) == [] and list(trades.trades) == []

        # Trading in someone else's portfolio is refused, and reserves none of their cash.
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await place(platform, replace(other, portfolio_id=pid), "KO", "1")
        details = status_details(info.value)
        assert details.code == grpc.StatusCode.FAILED_PRECONDITION, details
        error_info = details.find(error_details_pb2.ErrorInfo)
        assert error_info is not None and error_info.reason == "PORTFOLIO_NOT_FOUND", details
        assert (await portfolio_of(platform, owner)).reserved_cash.units == 0
        books = await reconciled(platform, owner)
        assert len(books.orders) == 1

        # The other user's stream carried their own order, and nothing of the owner's.
        mine = await place(platform, other, "KO", "1")
        await eventually(
            _has(
                lambda: any(
                    m.order.order_id == mine.order_id
                    and m.order.status == trading_pb2.ORDER_STATUS_FILLED
                    for _, m in other_updates.received
                )
            ),
            timeout=30,
            what=f"the other user's own FILLED update (ended: {other_updates.ended!r})",
        )
        assert {m.order.user_id for _, m in other_updates.received} == {other.user_id}
    finally:
        await other_updates.close()
