"""Who sees which orders, and the admins' risk limits."""

from __future__ import annotations

import uuid

import grpc
from google.type import money_pb2
from trademesh.trading.v1 import trading_pb2

from tests.unit.interceptors.conftest import refused

from .harness import Harness, User


async def test_users_only_see_their_own_orders_and_trades(harness: Harness) -> None:
    alice, bob = harness.user(), harness.user()
    admin = harness.user("admin")
    mine = await harness.place(alice)
    theirs = await harness.place(bob)

    code, reason = await refused(
        harness.api.GetOrder(
            trading_pb2.GetOrderRequest(order_id=theirs.order_id), metadata=alice.auth
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "ORDER_NOT_FOUND")
    code, _ = await refused(
        harness.api.CancelOrder(
            trading_pb2.CancelOrderRequest(order_id=theirs.order_id), metadata=alice.auth
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND

    listed = await harness.api.ListOrders(trading_pb2.ListOrdersRequest(), metadata=alice.auth)
    assert [o.order_id for o in listed.orders] == [mine.order_id]
    trades = await harness.api.ListTrades(trading_pb2.ListTradesRequest(), metadata=alice.auth)
    assert {t.order_id for t in trades.trades} == {mine.order_id}
    code, _ = await refused(
        harness.api.ListOrders(
            trading_pb2.ListOrdersRequest(user_id=bob.user_id), metadata=alice.auth
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED

    # Admins read anyone's.
    assert (await harness.get(admin, theirs.order_id)).user_id == bob.user_id
    everyone = await harness.api.ListOrders(trading_pb2.ListOrdersRequest(), metadata=admin.auth)
    assert {o.order_id for o in everyone.orders} == {mine.order_id, theirs.order_id}
    only_bob = await harness.api.ListOrders(
        trading_pb2.ListOrdersRequest(user_id=bob.user_id), metadata=admin.auth
    )
    assert [o.order_id for o in only_bob.orders] == [theirs.order_id]


async def test_list_orders_pages_newest_first_with_filters(harness: Harness) -> None:
    alice = harness.user()
    placed = [await harness.place(alice, quantity=str(n + 1)) for n in range(5)]
    harness.market.list("MSFT")
    harness.market.set_quote("MSFT", "300", "300.10")
    other = await harness.place(alice, symbol="MSFT")
    seen: list[str] = []
    token = ""
    while True:
        page = await harness.api.ListOrders(
            trading_pb2.ListOrdersRequest(page_size=2, page_token=token, symbol="AAPL"),
            metadata=alice.auth,
        )
        seen.extend(o.order_id for o in page.orders)
        token = page.next_page_token
        if not token:
            break
    assert seen == [o.order_id for o in reversed(placed)]
    assert other.order_id not in seen

    # A token only continues the listing it came from.
    first = await harness.api.ListOrders(
        trading_pb2.ListOrdersRequest(page_size=1), metadata=alice.auth
    )
    code, _ = await refused(
        harness.api.ListOrders(
            trading_pb2.ListOrdersRequest(
                page_size=1, page_token=first.next_page_token, symbol="MSFT"
            ),
            metadata=alice.auth,
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    filled = await harness.api.ListOrders(
        trading_pb2.ListOrdersRequest(statuses=[trading_pb2.ORDER_STATUS_OPEN]),
        metadata=alice.auth,
    )
    assert list(filled.orders) == []


async def test_admins_read_and_set_risk_limits_that_later_orders_obey(harness: Harness) -> None:
    alice = harness.user()
    admin = harness.user("admin")
    code, _ = await refused(
        harness.api.GetRiskLimits(
            trading_pb2.GetRiskLimitsRequest(user_id=alice.user_id), metadata=alice.auth
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED

    defaults = await harness.api.GetRiskLimits(
        trading_pb2.GetRiskLimitsRequest(user_id=alice.user_id), metadata=admin.auth
    )
    assert defaults.limits.max_order_quantity == "100000"
    assert defaults.limits.max_order_notional.units == 1_000_000
    assert not defaults.limits.HasField("update_time")

    updated = await harness.api.SetRiskLimits(
        trading_pb2.SetRiskLimitsRequest(
            user_id=alice.user_id,
            limits=trading_pb2.RiskLimits(
                max_order_quantity="5",
                max_daily_notional=money_pb2.Money(currency_code="USD", units=1500),
                max_open_orders=1,
            ),
        ),
        metadata=admin.auth,
    )
    assert updated.limits.max_order_quantity == "5"
    assert not updated.limits.HasField("max_order_notional")
    assert updated.limits.HasField("update_time")

    code, reason = await refused(harness.api.PlaceOrder(_market(alice, "6"), metadata=alice.auth))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "QUANTITY_LIMIT")
    await harness.place(alice, quantity="5")  # 500 of the 1500 today
    await harness.place(
        alice, quantity="5", order_type=trading_pb2.ORDER_TYPE_LIMIT, limit_price="90"
    )  # rests: the one open order allowed
    code, reason = await refused(harness.api.PlaceOrder(_market(alice, "1"), metadata=alice.auth))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "OPEN_ORDERS_LIMIT")

    await harness.api.SetRiskLimits(
        trading_pb2.SetRiskLimitsRequest(
            user_id=alice.user_id,
            limits=trading_pb2.RiskLimits(
                max_daily_notional=money_pb2.Money(currency_code="USD", units=1500)
            ),
        ),
        metadata=admin.auth,
    )
    code, reason = await refused(harness.api.PlaceOrder(_market(alice, "6"), metadata=alice.auth))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "DAILY_NOTIONAL_LIMIT")

    await harness.api.SetRiskLimits(
        trading_pb2.SetRiskLimitsRequest(
            user_id=alice.user_id, limits=trading_pb2.RiskLimits(trading_disabled=True)
        ),
        metadata=admin.auth,
    )
    code, reason = await refused(harness.api.PlaceOrder(_market(alice, "1"), metadata=alice.auth))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TRADING_DISABLED")


def _market(user: User, quantity: str) -> trading_pb2.PlaceOrderRequest:
    return trading_pb2.PlaceOrderRequest(
        portfolio_id=user.portfolio_id,
        client_order_id=uuid.uuid4().hex,
        symbol="AAPL",
        side=1,
        order_type=trading_pb2.ORDER_TYPE_MARKET,
        quantity=quantity,
    )
