"""Which events become notifications, and what they say: one table keyed by event case.

An event's case is its message name plus the value that tells its variants apart (an order's
new status, a trade's side, a portfolio's change, a revocation's reason). A case missing from
`TEMPLATES` makes no notification: cash reservations, order acceptances and the like are
visible elsewhere and would only be noise in a person's feed. Fills are told once, by the
TradeExecuted of each execution, not again by the order's FILLED update.

Rendering is a pure function of the event, including the notification's id (derived from the
event id) and time (the event's own), so every instance renders the same notification from the
same record: the consumer that stores it and the readers that stream it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import money_pb2
from trademesh.common.v1 import types_pb2
from trademesh.identity.v1 import events_pb2 as identity_events
from trademesh.portfolio.v1 import events_pb2 as portfolio_events
from trademesh.trading.v1 import events_pb2 as trading_events
from trademesh.trading.v1 import trading_pb2

from mesh.money import from_money
from services.notification.models import Kind, Notification

# Notification ids are UUIDv5 of the event id in this namespace.
NAMESPACE = uuid.UUID("5f1d3a2e-7c4b-4e0a-9d8f-6b2a1c3e4f50")

TRADE = trading_events.TradeExecuted.DESCRIPTOR.full_name
ORDER = trading_events.OrderUpdated.DESCRIPTOR.full_name
PORTFOLIO = portfolio_events.PortfolioUpdated.DESCRIPTOR.full_name
SESSION = identity_events.SessionRevoked.DESCRIPTOR.full_name


class BadEvent(ValueError):
    """The event lacks what every notification needs (event id, user, time)."""


@dataclass(frozen=True, slots=True)
class Template:
    kind: Kind
    title: str
    body: str = ""


@dataclass(frozen=True, slots=True)
class Facts:
    """What a template may say about one event, and who it is for."""

    case: tuple[str, int]
    event_id: str
    user_id: str
    occurred_at: Timestamp
    values: Mapping[str, str]
    attributes: Mapping[str, str]


_S = types_pb2
_O = trading_pb2
_P = portfolio_events
_I = identity_events

TEMPLATES: dict[tuple[str, int], Template] = {
    (TRADE, _S.SIDE_BUY): Template(
        Kind.TRADE_EXECUTED,
        "Bought {quantity} {symbol} at {price}",
        "Your order to buy {symbol} executed: {quantity} at {price} for {notional}, fee {fee}.",
    ),
    (TRADE, _S.SIDE_SELL): Template(
        Kind.TRADE_EXECUTED,
        "Sold {quantity} {symbol} at {price}",
        "Your order to sell {symbol} executed: {quantity} at {price} for {notional}, fee {fee}.",
    ),
    (ORDER, _O.ORDER_STATUS_REJECTED): Template(
        Kind.ORDER_UPDATED,
        "Order rejected: {side} {quantity} {symbol}{limit}",
        "Your order was not accepted: {reason}",
    ),
    (ORDER, _O.ORDER_STATUS_CANCELLED): Template(
        Kind.ORDER_UPDATED,
        "Order cancelled: {side} {quantity} {symbol}{limit}",
        "{filled} of {quantity} had executed before the order was cancelled.",
    ),
    (ORDER, _O.ORDER_STATUS_EXPIRED): Template(
        Kind.ORDER_UPDATED,
        "Order expired: {side} {quantity} {symbol}{limit}",
        "Its time in force ran out with {filled} of {quantity} executed.",
    ),
    (PORTFOLIO, _P.PORTFOLIO_CHANGE_CREATED): Template(
        Kind.SYSTEM,
        "Portfolio {name} created",
        "It starts with {cash} in cash.",
    ),
    (PORTFOLIO, _P.PORTFOLIO_CHANGE_DELETED): Template(
        Kind.SYSTEM,
        "Portfolio {name} deleted",
    ),
    (SESSION, _I.REVOCATION_REASON_LOGOUT): Template(
        Kind.SESSION_REVOKED,
        "Signed out",
        "A session of your account was signed out. If that was not you, change your password.",
    ),
    (SESSION, _I.REVOCATION_REASON_REFRESH_TOKEN_REUSE): Template(
        Kind.SESSION_REVOKED,
        "Session ended to protect your account",
        "A sign-in token of this session was used twice, which can mean it was copied. The "
        "session was signed out; sign in again, and change your password if you did not "
        "expect this.",
    ),
    (SESSION, _I.REVOCATION_REASON_USER_DISABLED): Template(
        Kind.SESSION_REVOKED,
        "Account disabled",
        "An administrator disabled your account, which signed out its sessions.",
    ),
    (SESSION, _I.REVOCATION_REASON_UNSPECIFIED): Template(
        Kind.SESSION_REVOKED,
        "Session ended",
        "A session of your account was signed out.",
    ),
}


def decimal_text(text: str, *, min_places: int = 0) -> str:
    """A decimal string without trailing zeros (keeping `min_places`); other text as is."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    places = max(min_places, -value.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{value:,.{places}f}"


def money_text(money: money_pb2.Money) -> str:
    amount = from_money(money)
    return f"{decimal_text(str(amount), min_places=2)} {money.currency_code}".strip()


_SIDES = {_S.SIDE_BUY: "Buy", _S.SIDE_SELL: "Sell"}


def _trade(event: trading_events.TradeExecuted) -> Facts:
    trade = event.trade
    return Facts(
        case=(TRADE, trade.side),
        event_id=event.event_id,
        user_id=trade.user_id,
        occurred_at=event.occurred_at,
        values={
            "symbol": trade.symbol,
            "quantity": decimal_text(trade.quantity),
            "price": decimal_text(trade.price, min_places=2),
            "notional": money_text(trade.notional),
            "fee": money_text(trade.fee),
        },
        attributes={
            "trade_id": trade.trade_id,
            "order_id": trade.order_id,
            "portfolio_id": trade.portfolio_id,
        },
    )


def _order(event: trading_events.OrderUpdated) -> Facts:
    order = event.order
    limit = ""
    if order.order_type == _O.ORDER_TYPE_LIMIT and order.limit_price:
        limit = f" limit {decimal_text(order.limit_price, min_places=2)}"
    return Facts(
        case=(ORDER, order.status),
        event_id=event.event_id,
        user_id=order.user_id,
        occurred_at=event.occurred_at,
        values={
            "side": _SIDES.get(order.side, "Order"),
            "symbol": order.symbol,
            "quantity": decimal_text(order.quantity),
            "filled": decimal_text(order.filled_quantity or "0"),
            "limit": limit,
            "reason": order.reject_reason or "no reason was given.",
        },
        attributes={"order_id": order.order_id, "portfolio_id": order.portfolio_id},
    )


def _portfolio(event: portfolio_events.PortfolioUpdated) -> Facts:
    portfolio = event.portfolio
    return Facts(
        case=(PORTFOLIO, event.change),
        event_id=event.event_id,
        user_id=portfolio.user_id,
        occurred_at=event.occurred_at,
        values={"name": portfolio.name, "cash": money_text(portfolio.cash_balance)},
        attributes={"portfolio_id": portfolio.portfolio_id},
    )


def _session(event: identity_events.SessionRevoked) -> Facts:
    return Facts(
        case=(SESSION, event.reason),
        event_id=event.event_id,
        user_id=event.user_id,
        occurred_at=event.occurred_at,
        values={},
        attributes={"session_id": event.session_id},
    )


FACTS: dict[str, Callable[[Any], Facts]] = {
    TRADE: _trade,
    ORDER: _order,
    PORTFOLIO: _portfolio,
    SESSION: _session,
}


def notification_id(event_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, event_id))


def _check(facts: Facts) -> None:
    for name, value in (("event_id", facts.event_id), ("user id", facts.user_id)):
        if not value:
            raise BadEvent(f"{facts.case[0]} without {name}")
    try:
        uuid.UUID(facts.user_id)
    except ValueError:
        raise BadEvent(f"{facts.case[0]} names user {facts.user_id!r}, not a UUID") from None
    if facts.occurred_at.seconds <= 0:
        raise BadEvent(f"{facts.case[0]} {facts.event_id} without occurred_at")


def render(event: Message) -> Notification | None:
    """The notification `event` makes, or None when its case makes none.

    Raises BadEvent for an event no notification can be made of, and TypeError for a message
    type this service does not consume.
    """
    extract = FACTS.get(event.DESCRIPTOR.full_name)
    if extract is None:
        raise TypeError(f"no notifications are made of {event.DESCRIPTOR.full_name}")
    facts = extract(event)
    template = TEMPLATES.get(facts.case)
    if template is None:
        return None
    _check(facts)
    return Notification(
        notification_id=notification_id(facts.event_id),
        user_id=facts.user_id,
        kind=template.kind,
        title=template.title.format_map(facts.values),
        body=template.body.format_map(facts.values),
        event_id=facts.event_id,
        created_us=facts.occurred_at.ToMicroseconds(),
        attributes={key: value for key, value in facts.attributes.items() if value},
    )
