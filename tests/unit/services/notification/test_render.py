"""The event → notification table: which events make a notification, for whom, saying what."""

from __future__ import annotations

import uuid

import pytest
from trademesh.common.v1 import types_pb2
from trademesh.identity.v1 import events_pb2 as identity_events
from trademesh.marketdata.v1 import events_pb2 as marketdata_events
from trademesh.portfolio.v1 import events_pb2 as portfolio_events
from trademesh.trading.v1 import trading_pb2

from services.notification import TEMPLATES, BadEvent, Kind, render
from services.notification.render import decimal_text, notification_id

from . import events

USER = str(uuid.uuid4())

_O = trading_pb2
_P = portfolio_events
_I = identity_events


def test_a_buy_reads_like_the_contract_example() -> None:
    event = events.trade(USER, quantity="10.00000000", price="189.2")
    made = render(event)
    assert made is not None
    assert made.user_id == USER
    assert made.kind is Kind.TRADE_EXECUTED
    assert made.title == "Bought 10 AAPL at 189.20"
    assert (
        made.body == "Your order to buy AAPL executed: 10 at 189.20 for 1,892.00 USD, fee 1.50 USD."
    )
    assert made.attributes == {
        "trade_id": event.trade.trade_id,
        "order_id": event.trade.order_id,
        "portfolio_id": event.trade.portfolio_id,
    }
    assert made.event_id == event.event_id
    assert made.created_us == event.occurred_at.ToMicroseconds()


def test_a_sell_says_sold() -> None:
    made = render(events.trade(USER, side=types_pb2.SIDE_SELL, quantity="2.5", price="410"))
    assert made is not None and made.title == "Sold 2.5 AAPL at 410.00"


@pytest.mark.parametrize(
    ("status", "title", "body"),
    [
        (
            _O.ORDER_STATUS_REJECTED,
            "Order rejected: Sell 5 MSFT",
            "Your order was not accepted: not enough shares to sell",
        ),
        (
            _O.ORDER_STATUS_CANCELLED,
            "Order cancelled: Sell 5 MSFT",
            "2 of 5 had executed before the order was cancelled.",
        ),
        (
            _O.ORDER_STATUS_EXPIRED,
            "Order expired: Sell 5 MSFT",
            "Its time in force ran out with 2 of 5 executed.",
        ),
    ],
)
def test_orders_ending_without_a_full_fill_are_told(status: int, title: str, body: str) -> None:
    reason = "not enough shares to sell" if status == _O.ORDER_STATUS_REJECTED else ""
    filled = "0" if reason else "2"
    event = events.order(USER, status, reject_reason=reason, filled=filled)
    made = render(event)
    assert made is not None
    assert (made.kind, made.title, made.body) == (Kind.ORDER_UPDATED, title, body)
    assert made.attributes == {
        "order_id": event.order.order_id,
        "portfolio_id": event.order.portfolio_id,
    }


def test_a_limit_order_names_its_limit() -> None:
    event = events.order(
        USER, _O.ORDER_STATUS_CANCELLED, order_type=_O.ORDER_TYPE_LIMIT, limit_price="150.5"
    )
    made = render(event)
    assert made is not None and made.title == "Order cancelled: Sell 5 MSFT limit 150.50"


@pytest.mark.parametrize(
    "status",
    [
        _O.ORDER_STATUS_PENDING,
        _O.ORDER_STATUS_OPEN,
        _O.ORDER_STATUS_PARTIALLY_FILLED,
        _O.ORDER_STATUS_FILLED,  # told by the TradeExecuted of each fill
    ],
)
def test_working_and_filled_orders_make_no_notification(status: int) -> None:
    assert render(events.order(USER, status)) is None


@pytest.mark.parametrize(
    ("change", "title"),
    [
        (_P.PORTFOLIO_CHANGE_CREATED, "Portfolio Growth created"),
        (_P.PORTFOLIO_CHANGE_DELETED, "Portfolio Growth deleted"),
    ],
)
def test_portfolios_created_and_deleted_are_told_to_their_owner(change: int, title: str) -> None:
    made = render(events.portfolio(USER, change))
    assert made is not None
    assert (made.user_id, made.kind, made.title) == (USER, Kind.SYSTEM, title)


@pytest.mark.parametrize(
    "change",
    [
        _P.PORTFOLIO_CHANGE_UPDATED,
        _P.PORTFOLIO_CHANGE_CASH_RESERVED,
        _P.PORTFOLIO_CHANGE_CASH_RELEASED,
        _P.PORTFOLIO_CHANGE_TRADE_SETTLED,
    ],
)
def test_cash_movements_and_settlements_make_no_notification(change: int) -> None:
    assert render(events.portfolio(USER, change)) is None


@pytest.mark.parametrize(
    ("reason", "title"),
    [
        (_I.REVOCATION_REASON_LOGOUT, "Signed out"),
        (_I.REVOCATION_REASON_REFRESH_TOKEN_REUSE, "Session ended to protect your account"),
        (_I.REVOCATION_REASON_USER_DISABLED, "Account disabled"),
    ],
)
def test_revoked_sessions_are_told(reason: int, title: str) -> None:
    event = events.session(USER, reason)
    made = render(event)
    assert made is not None
    assert (made.user_id, made.kind, made.title) == (USER, Kind.SESSION_REVOKED, title)
    assert made.attributes == {"session_id": event.session_id}


def test_a_deleted_user_gets_no_notification() -> None:
    assert render(events.session(USER, _I.REVOCATION_REASON_USER_DELETED)) is None


def test_every_template_renders_with_the_facts_of_its_event() -> None:
    # A placeholder no extractor fills would raise KeyError here.
    samples = {
        "trade": lambda case: events.trade(USER, side=case),
        "order": lambda case: events.order(USER, case),
        "portfolio": lambda case: events.portfolio(USER, case),
        "session": lambda case: events.session(USER, case),
    }
    for (message, case), template in TEMPLATES.items():
        short = message.rsplit(".", 1)[-1]
        family = {
            "TradeExecuted": "trade",
            "OrderUpdated": "order",
            "PortfolioUpdated": "portfolio",
            "SessionRevoked": "session",
        }[short]
        made = render(samples[family](case))
        assert made is not None, (message, case)
        assert made.kind is template.kind
        assert "{" not in made.title + made.body


def test_the_id_is_derived_from_the_event_so_every_reader_agrees() -> None:
    event = events.trade(USER)
    first, second = render(event), render(event)
    assert first is not None and second is not None
    assert first.notification_id == second.notification_id == notification_id(event.event_id)
    other = render(events.trade(USER))
    assert other is not None and other.notification_id != first.notification_id


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"event_id": ""}, "event_id"),
        ({"user_id": ""}, "user id"),
        ({"user_id": "not-a-uuid"}, "not a UUID"),
        ({"no_time": True}, "occurred_at"),
    ],
)
def test_events_missing_what_a_notification_needs_are_refused(
    change: dict[str, object], problem: str
) -> None:
    event = events.trade(USER)
    if "event_id" in change:
        event.event_id = str(change["event_id"])
    if "user_id" in change:
        event.trade.user_id = str(change["user_id"])
    if "no_time" in change:
        event.ClearField("occurred_at")
    with pytest.raises(BadEvent, match=problem):
        render(event)


def test_a_message_type_it_does_not_consume_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="QuoteUpdated"):
        render(marketdata_events.QuoteUpdated(event_id="x"))


@pytest.mark.parametrize(
    ("text", "places", "shown"),
    [
        ("10.00000000", 0, "10"),
        ("0.5", 0, "0.5"),
        ("189.2", 2, "189.20"),
        ("1234567.125", 2, "1,234,567.125"),
        ("not a number", 2, "not a number"),
    ],
)
def test_decimal_text(text: str, places: int, shown: str) -> None:
    assert decimal_text(text, min_places=places) == shown
