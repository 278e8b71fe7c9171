"""The events trading announces, built from records and written to the outbox with them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from google.protobuf.message import Message
from trademesh.trading.v1 import events_pb2

from mesh import context as call_context
from mesh.events import ORDERS, TRADES, Topic
from services.trading import convert
from services.trading.models import Order, OrderStatus, Trade


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event for the outbox: written in the transaction of the change it announces."""

    topic: Topic
    event: Message
    key: str


def _correlation_id(fallback: str) -> str:
    return call_context.current().correlation_id or fallback


def order_updated(order: Order, previous: OrderStatus | None) -> Outgoing:
    """OrderUpdated on trading.orders.v1, keyed by user id (per-user ordering)."""
    event = events_pb2.OrderUpdated(
        event_id=str(uuid.uuid4()),
        occurred_at=convert.timestamp(order.updated_at),
        correlation_id=_correlation_id(order.correlation_id),
        order=convert.order_message(order),
    )
    if previous is not None:
        event.previous_status = convert.STATUSES[previous]
    return Outgoing(ORDERS, event, order.user_id)


def trade_executed(trade: Trade, order: Order) -> Outgoing:
    """TradeExecuted on trading.trades.v1, keyed by portfolio id: portfolio settles it."""
    event = events_pb2.TradeExecuted(
        event_id=str(uuid.uuid4()),
        occurred_at=convert.timestamp(trade.executed_at),
        correlation_id=order.correlation_id or _correlation_id(""),
        trade=convert.trade_message(trade),
    )
    return Outgoing(TRADES, event, trade.portfolio_id)
