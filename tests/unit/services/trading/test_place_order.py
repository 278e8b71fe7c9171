"""PlaceOrder through the real server chain: the saga's steps, idempotency, risk refusals."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import grpc
import pytest
from trademesh.trading.v1 import trading_pb2

from tests.unit.interceptors.conftest import refused

from .harness import Harness

ORDERS = "trading.orders.v1"
TRADES = "trading.trades.v1"


async def test_market_buy_reserves_fills_and_announces_in_the_outbox(harness: Harness) -> None:
    alice = harness.user()
    order = await harness.place(alice, quantity="10")

    assert order.status == trading_pb2.ORDER_STATUS_FILLED
    assert order.average_fill_price == "100"
    assert order.filled_quantity == "10"
    # 10 x 100.00 with the 2% market buffer, plus the 0.05% fee on it, was reserved.
    account = harness.account(alice)
    assert account.reserved == {order.order_id: Decimal("1020.00") + Decimal("0.51")}

    trades = await harness.api.ListTrades(trading_pb2.ListTradesRequest(), metadata=alice.auth)
    (trade,) = trades.trades
    assert (trade.order_id, trade.quantity, trade.price) == (order.order_id, "10", "100")
    assert (trade.notional.units, trade.notional.nanos) == (1000, 0)
    assert (trade.fee.units, trade.fee.nanos) == (0, 500_000_000)

    outbox = await harness.outbox()
    assert [(topic, key) for topic, _, key in outbox] == [
        (ORDERS, alice.user_id),  # PENDING
        (ORDERS, alice.user_id),  # OPEN, cash reserved
        (TRADES, alice.portfolio_id),  # the execution, for portfolio to settle
        (ORDERS, alice.user_id),  # FILLED
    ]
    assert outbox[2][1] == "trademesh.trading.v1.TradeExecuted"


async def test_market_sell_checks_holdings_and_reserves_nothing(harness: Harness) -> None:
    alice = harness.user()
    harness.account(alice).positions["AAPL"] = Decimal(5)
    order = await harness.place(alice, side=2, quantity="5")
    assert order.status == trading_pb2.ORDER_STATUS_FILLED
    assert order.average_fill_price == "99.9"  # sells take the bid
    assert harness.account(alice).reserved == {}
    assert harness.portfolio.reserve_calls == 0


async def test_same_client_order_id_returns_the_same_order(harness: Harness) -> None:
    alice = harness.user()
    first = await harness.place(alice, client_order_id="abc-1")
    again = await harness.place(alice, client_order_id="abc-1")
    assert again.order_id == first.order_id
    assert harness.portfolio.reserve_calls == 1

    code, reason = await refused(
        harness.api.PlaceOrder(
            trading_pb2.PlaceOrderRequest(
                portfolio_id=alice.portfolio_id,
                client_order_id="abc-1",
                symbol="AAPL",
                side=1,
                order_type=trading_pb2.ORDER_TYPE_MARKET,
                quantity="11",
            ),
            metadata=alice.auth,
        )
    )
    assert (code, reason) == (grpc.StatusCode.ALREADY_EXISTS, "CLIENT_ORDER_ID_REUSED")

    # Another user's identical key is another order.
    bob = harness.user()
    other = await harness.place(bob, client_order_id="abc-1")
    assert other.order_id != first.order_id


async def test_concurrent_duplicates_race_to_one_order(harness: Harness) -> None:
    alice = harness.user()
    placed = await asyncio.gather(
        *(harness.place(alice, client_order_id="race", quantity="3") for _ in range(25))
    )
    assert len({order.order_id for order in placed}) == 1
    listed = await harness.api.ListOrders(trading_pb2.ListOrdersRequest(), metadata=alice.auth)
    assert len(listed.orders) == 1
    assert list(harness.account(alice).reserved) == [placed[0].order_id]
    trades = await harness.api.ListTrades(trading_pb2.ListTradesRequest(), metadata=alice.auth)
    assert len(trades.trades) == 1


async def test_insufficient_cash_rejects_without_a_reservation(harness: Harness) -> None:
    alice = harness.user(cash="500")
    call = harness.api.PlaceOrder(
        trading_pb2.PlaceOrderRequest(
            portfolio_id=alice.portfolio_id,
            client_order_id="too-big",
            symbol="AAPL",
            side=1,
            order_type=trading_pb2.ORDER_TYPE_MARKET,
            quantity="10",
        ),
        metadata=alice.auth,
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "insufficient cash" in (raised.value.details() or "")
    assert harness.account(alice).reserved == {}

    listed = await harness.api.ListOrders(trading_pb2.ListOrdersRequest(), metadata=alice.auth)
    (order,) = listed.orders
    assert order.status == trading_pb2.ORDER_STATUS_REJECTED
    assert "insufficient cash" in order.reject_reason
    # Repeating the request repeats the refusal; nothing new is reserved.
    code, reason = await refused(
        harness.api.PlaceOrder(
            trading_pb2.PlaceOrderRequest(
                portfolio_id=alice.portfolio_id,
                client_order_id="too-big",
                symbol="AAPL",
                side=1,
                order_type=trading_pb2.ORDER_TYPE_MARKET,
                quantity="10",
            ),
            metadata=alice.auth,
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_CASH")
    assert harness.portfolio.reserve_calls == 1


def _request(user_portfolio: str, **fields: object) -> trading_pb2.PlaceOrderRequest:
    values: dict[str, object] = {
        "portfolio_id": user_portfolio,
        "client_order_id": uuid.uuid4().hex,
        "symbol": "AAPL",
        "side": 1,
        "order_type": trading_pb2.ORDER_TYPE_MARKET,
        "quantity": "1",
    }
    values.update(fields)
    return trading_pb2.PlaceOrderRequest(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"symbol": "ZZZZ"}, "INSTRUMENT_UNKNOWN"),
        ({"symbol": "HALT"}, "INSTRUMENT_NOT_TRADABLE"),
        ({"quantity": "100001"}, "QUANTITY_LIMIT"),
        ({"quantity": "20000"}, "NOTIONAL_LIMIT"),
        ({"side": 2}, "INSUFFICIENT_HOLDINGS"),
        ({"quantity": "0.5"}, "LOT_SIZE"),
        ({"symbol": "NOQT"}, "QUOTE_UNAVAILABLE"),
    ],
)
async def test_risk_checks_refuse_with_a_reason(
    harness: Harness, fields: dict[str, object], reason: str
) -> None:
    harness.market.list("HALT", tradable=False)
    harness.market.set_quote("HALT", "10", "10.01")
    harness.market.set_quote("ZZZZ", "10", "10.01")
    harness.market.list("NOQT")  # listed, but marketdata has no quote for it
    alice = harness.user(cash="100000000")
    code, got = await refused(
        harness.api.PlaceOrder(_request(alice.portfolio_id, **fields), metadata=alice.auth)
    )
    assert (code, got) == (grpc.StatusCode.FAILED_PRECONDITION, reason)
    assert harness.account(alice).reserved == {}
    listed = await harness.api.ListOrders(trading_pb2.ListOrdersRequest(), metadata=alice.auth)
    assert [o.status for o in listed.orders] == [trading_pb2.ORDER_STATUS_REJECTED]


async def test_someone_elses_portfolio_is_refused(harness: Harness) -> None:
    alice, bob = harness.user(), harness.user()
    code, reason = await refused(
        harness.api.PlaceOrder(_request(bob.portfolio_id), metadata=alice.auth)
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PORTFOLIO_NOT_FOUND")
    assert harness.account(bob).reserved == {}


async def test_viewers_cannot_place_orders_and_bad_input_is_invalid(harness: Harness) -> None:
    viewer = harness.user("viewer")
    code, _ = await refused(
        harness.api.PlaceOrder(_request(viewer.portfolio_id), metadata=viewer.auth)
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    alice = harness.user()
    for fields in (
        {"quantity": "-1"},
        {"quantity": "0"},
        {"order_type": trading_pb2.ORDER_TYPE_LIMIT},  # no limit price
        {"limit_price": "10"},  # a market order with a price
        {"client_order_id": "has spaces"},
    ):
        code, _ = await refused(
            harness.api.PlaceOrder(_request(alice.portfolio_id, **fields), metadata=alice.auth)
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT, fields
    listed = await harness.api.ListOrders(trading_pb2.ListOrdersRequest(), metadata=alice.auth)
    assert list(listed.orders) == []
