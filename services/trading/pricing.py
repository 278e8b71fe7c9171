"""When a resting order crosses, at what price it executes, and what an execution costs."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from mesh.money import cents
from services.trading.models import Order, OrderType, Side, TimeInForce, Trade
from services.trading.risk import Fees
from services.trading.upstreams import Price


def execution_price(order: Order, price: Price) -> Decimal | None:
    """The price `order` executes at against `price`, or None when it does not cross.

    Buys take the ask, sells the bid; a limit order only at its limit or better.
    """
    touch = price.ask if order.side is Side.BUY else price.bid
    if order.order_type is OrderType.MARKET or order.limit_price is None:
        return touch
    if order.side is Side.BUY:
        return touch if touch <= order.limit_price else None
    return touch if touch >= order.limit_price else None


def trade_for(order: Order, price: Decimal, fees: Fees, *, now: float) -> Trade:
    notional = cents(order.quantity * price)
    return Trade(
        trade_id=str(uuid.uuid4()),
        order_id=order.order_id,
        user_id=order.user_id,
        portfolio_id=order.portfolio_id,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        price=price,
        notional=notional,
        fee=fees.fee(notional),
        currency=order.currency,
        executed_at=now,
    )


def day_end(created_at: float, time_in_force: TimeInForce) -> float | None:
    """When a DAY order expires: the next UTC midnight. Other orders do not expire."""
    if time_in_force is not TimeInForce.DAY:
        return None
    day = dt.datetime.fromtimestamp(created_at, dt.UTC).date()
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
    return midnight.timestamp()


def day_start(now: float) -> float:
    day = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
