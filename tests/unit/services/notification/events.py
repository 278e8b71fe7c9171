"""Builders of the real event messages the notification service consumes."""

from __future__ import annotations

import time
import uuid

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import money_pb2
from trademesh.common.v1 import types_pb2
from trademesh.identity.v1 import events_pb2 as identity_events
from trademesh.portfolio.v1 import events_pb2 as portfolio_events
from trademesh.portfolio.v1 import portfolio_pb2
from trademesh.trading.v1 import events_pb2 as trading_events
from trademesh.trading.v1 import trading_pb2


def new_id() -> str:
    return str(uuid.uuid4())


def now_stamp(at: float | None = None) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(round((time.time() if at is None else at) * 1e9))
    return stamp


def usd(units: int, nanos: int = 0) -> money_pb2.Money:
    return money_pb2.Money(currency_code="USD", units=units, nanos=nanos)


def trade(
    user_id: str,
    *,
    side: int = types_pb2.SIDE_BUY,
    symbol: str = "AAPL",
    quantity: str = "10",
    price: str = "189.2",
    event_id: str | None = None,
    at: float | None = None,
) -> trading_events.TradeExecuted:
    return trading_events.TradeExecuted(
        event_id=event_id or new_id(),
        occurred_at=now_stamp(at),
        correlation_id="corr-trade",
        trade=trading_pb2.Trade(
            trade_id=new_id(),
            order_id=new_id(),
            user_id=user_id,
            portfolio_id=new_id(),
            symbol=symbol,
            side=side,  # type: ignore[arg-type]
            quantity=quantity,
            price=price,
            notional=usd(1892),
            fee=usd(1, 500_000_000),
        ),
    )


def order(
    user_id: str,
    status: int,
    *,
    reject_reason: str = "",
    order_type: int = trading_pb2.ORDER_TYPE_MARKET,
    limit_price: str = "",
    filled: str = "0",
    event_id: str | None = None,
) -> trading_events.OrderUpdated:
    return trading_events.OrderUpdated(
        event_id=event_id or new_id(),
        occurred_at=now_stamp(),
        order=trading_pb2.Order(
            order_id=new_id(),
            client_order_id="client-1",
            user_id=user_id,
            portfolio_id=new_id(),
            symbol="MSFT",
            side=types_pb2.SIDE_SELL,
            order_type=order_type,  # type: ignore[arg-type]
            quantity="5",
            limit_price=limit_price,
            status=status,  # type: ignore[arg-type]
            filled_quantity=filled,
            reject_reason=reject_reason,
        ),
        previous_status=trading_pb2.ORDER_STATUS_OPEN,
    )


def portfolio(user_id: str, change: int, *, name: str = "Growth") -> Message:
    return portfolio_events.PortfolioUpdated(
        event_id=new_id(),
        occurred_at=now_stamp(),
        change=change,  # type: ignore[arg-type]
        portfolio=portfolio_pb2.Portfolio(
            portfolio_id=new_id(),
            user_id=user_id,
            name=name,
            base_currency="USD",
            cash_balance=usd(100_000),
        ),
    )


def session(
    user_id: str,
    reason: int = identity_events.REVOCATION_REASON_LOGOUT,
    *,
    session_id: str | None = None,
    expires_in_seconds: float = 900.0,
) -> identity_events.SessionRevoked:
    return identity_events.SessionRevoked(
        event_id=new_id(),
        occurred_at=now_stamp(),
        session_id=session_id or new_id(),
        user_id=user_id,
        reason=reason,  # type: ignore[arg-type]
        access_token_expire_time=now_stamp(time.time() + expires_in_seconds),
    )
