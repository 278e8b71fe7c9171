"""Limit orders: resting until a quote crosses, cancelling, IOC and day expiry."""

from __future__ import annotations

from decimal import Decimal

import grpc
from trademesh.trading.v1 import trading_pb2

from services.trading.upstreams import price_from_quote
from tests.unit.interceptors.conftest import refused

from .harness import Harness

LIMIT = trading_pb2.ORDER_TYPE_LIMIT


async def _quote(harness: Harness, bid: str, ask: str) -> None:
    """A new simulated price, handed to the matcher as the quote feed would."""
    quote = harness.market.set_quote("AAPL", bid, ask)
    price = price_from_quote(quote)
    harness.service.book.update(price)
    await harness.service.matcher.on_quote(price)


async def test_limit_buy_rests_then_fills_when_the_price_crosses(harness: Harness) -> None:
    alice = harness.user()
    order = await harness.place(alice, order_type=LIMIT, limit_price="95", quantity="4")
    assert order.status == trading_pb2.ORDER_STATUS_OPEN
    # Reserved at the limit: 4 x 95 = 380 plus the 0.19 fee.
    assert harness.account(alice).reserved == {order.order_id: Decimal("380.19")}

    await _quote(harness, "95.40", "95.50")  # still above the limit
    assert (await harness.get(alice, order.order_id)).status == trading_pb2.ORDER_STATUS_OPEN

    await _quote(harness, "94.70", "94.80")
    filled = await harness.get(alice, order.order_id)
    assert filled.status == trading_pb2.ORDER_STATUS_FILLED
    assert filled.average_fill_price == "94.8"  # the ask, better than the limit
    trades = await harness.api.ListTrades(
        trading_pb2.ListTradesRequest(order_id=order.order_id), metadata=alice.auth
    )
    assert [t.price for t in trades.trades] == ["94.8"]

    # Later quotes do not execute it again.
    await _quote(harness, "90", "90.10")
    trades = await harness.api.ListTrades(trading_pb2.ListTradesRequest(), metadata=alice.auth)
    assert len(trades.trades) == 1


async def test_limit_sell_fills_at_the_bid_once_it_reaches_the_limit(harness: Harness) -> None:
    alice = harness.user()
    harness.account(alice).positions["AAPL"] = Decimal(10)
    order = await harness.place(alice, side=2, order_type=LIMIT, limit_price="101", quantity="10")
    assert order.status == trading_pb2.ORDER_STATUS_OPEN
    # Held shares in an open sell are not available to a second sell.
    code, reason = await refused(
        harness.api.PlaceOrder(
            trading_pb2.PlaceOrderRequest(
                portfolio_id=alice.portfolio_id,
                client_order_id="second-sell",
                symbol="AAPL",
                side=2,
                order_type=trading_pb2.ORDER_TYPE_MARKET,
                quantity="1",
            ),
            metadata=alice.auth,
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_HOLDINGS")
    await _quote(harness, "101.20", "101.30")
    filled = await harness.get(alice, order.order_id)
    assert (filled.status, filled.average_fill_price) == (
        trading_pb2.ORDER_STATUS_FILLED,
        "101.2",
    )


async def test_marketable_limit_order_fills_at_once(harness: Harness) -> None:
    alice = harness.user()
    order = await harness.place(alice, order_type=LIMIT, limit_price="105", quantity="1")
    assert (order.status, order.average_fill_price) == (trading_pb2.ORDER_STATUS_FILLED, "100")
    # The unused part of the reservation (105 vs 100) is portfolio's to release on settling.


async def test_cancel_releases_the_reservation_and_is_idempotent(harness: Harness) -> None:
    alice = harness.user()
    order = await harness.place(alice, order_type=LIMIT, limit_price="90", quantity="2")
    assert order.order_id in harness.account(alice).reserved

    cancelled = await harness.api.CancelOrder(
        trading_pb2.CancelOrderRequest(order_id=order.order_id), metadata=alice.auth
    )
    assert cancelled.order.status == trading_pb2.ORDER_STATUS_CANCELLED
    account = harness.account(alice)
    assert account.reserved == {}
    assert account.released == {order.order_id: Decimal("180.09")}

    again = await harness.api.CancelOrder(
        trading_pb2.CancelOrderRequest(order_id=order.order_id), metadata=alice.auth
    )
    assert again.order.status == trading_pb2.ORDER_STATUS_CANCELLED

    # A cancelled order no longer fills.
    await _quote(harness, "80", "80.10")
    assert (await harness.get(alice, order.order_id)).status == (trading_pb2.ORDER_STATUS_CANCELLED)
    events = [topic for topic, _, _ in await harness.outbox()]
    assert "trading.trades.v1" not in events


async def test_filled_orders_cannot_be_cancelled(harness: Harness) -> None:
    alice = harness.user()
    order = await harness.place(alice)
    code, reason = await refused(
        harness.api.CancelOrder(
            trading_pb2.CancelOrderRequest(order_id=order.order_id), metadata=alice.auth
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ORDER_NOT_CANCELLABLE")


async def test_ioc_limit_that_does_not_cross_is_cancelled_and_released(harness: Harness) -> None:
    alice = harness.user()
    order = await harness.place(
        alice,
        order_type=LIMIT,
        limit_price="90",
        quantity="1",
        time_in_force=trading_pb2.TIME_IN_FORCE_IOC,
    )
    assert order.status == trading_pb2.ORDER_STATUS_CANCELLED
    assert harness.account(alice).reserved == {}
    assert order.order_id in harness.account(alice).released


async def test_day_orders_expire_at_the_end_of_the_day(harness: Harness) -> None:
    alice = harness.user()
    day = await harness.place(alice, order_type=LIMIT, limit_price="90", quantity="1")
    gtc = await harness.place(
        alice,
        order_type=LIMIT,
        limit_price="90",
        quantity="1",
        time_in_force=trading_pb2.TIME_IN_FORCE_GTC,
    )
    await harness.service.recovery.sweep()
    assert (await harness.get(alice, day.order_id)).status == trading_pb2.ORDER_STATUS_OPEN

    harness.clock.advance(86_400)
    await harness.service.recovery.sweep()
    expired = await harness.get(alice, day.order_id)
    assert expired.status == trading_pb2.ORDER_STATUS_EXPIRED
    assert (await harness.get(alice, gtc.order_id)).status == trading_pb2.ORDER_STATUS_OPEN
    assert list(harness.account(alice).reserved) == [gtc.order_id]
    assert day.order_id in harness.account(alice).released
