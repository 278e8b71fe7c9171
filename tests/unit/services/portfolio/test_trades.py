"""Reading executions from Kafka records, which no validation interceptor has checked."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from google.type import money_pb2
from trademesh.common.v1 import types_pb2
from trademesh.trading.v1 import events_pb2, trading_pb2

from mesh.errors import InvalidArgument
from services.portfolio.store import Side
from services.portfolio.trades import trade_input


def _event(**changes: object) -> events_pb2.TradeExecuted:
    trade = trading_pb2.Trade(
        trade_id=str(uuid.uuid4()),
        order_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        portfolio_id=str(uuid.uuid4()),
        symbol="BRK.B",
        side=types_pb2.SIDE_SELL,
        quantity="1.5",
        price="400.25",
        notional=money_pb2.Money(currency_code="USD", units=600, nanos=375_000_000),
    )
    for name, value in changes.items():
        setattr(trade, name, value)
    event = events_pb2.TradeExecuted(event_id=str(uuid.uuid4()), trade=trade)
    event.occurred_at.FromSeconds(1_750_000_000)
    return event


def test_a_complete_trade_is_read() -> None:
    read = trade_input(_event())
    assert read.side is Side.SELL
    assert read.quantity == Decimal("1.5")
    assert read.notional == Decimal("600.375")
    assert read.fee == 0 and read.fee_currency == ""
    assert read.executed_at == 1_750_000_000  # occurred_at stands in for execute_time


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("trade_id", ""),
        ("portfolio_id", "not-a-uuid"),
        ("symbol", "brk.b"),
        ("side", types_pb2.SIDE_UNSPECIFIED),
        ("quantity", "1e3"),
        ("quantity", "0"),
        ("price", "NaN"),
        ("price", "-1"),
    ],
)
def test_a_malformed_trade_names_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidArgument) as raised:
        trade_input(_event(**{field: value}))
    assert raised.value.violations[0].field == f"trade.{field}"


def test_a_record_without_a_trade_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        trade_input(events_pb2.TradeExecuted(event_id="e"))
