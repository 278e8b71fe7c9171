"""The execution to settle, read from a TradeExecuted event or a SettleTradeRequest."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from trademesh.portfolio.v1 import portfolio_pb2
from trademesh.trading.v1 import events_pb2 as trading_events

from mesh.errors import FieldViolation, InvalidArgument
from services.portfolio import convert, money
from services.portfolio.settlement import TradeInput

# The contract's forms (SettleTradeRequest's constraints), checked again for Kafka records,
# which no validation interceptor sees.
_DECIMAL = re.compile(r"[0-9]{1,18}([.][0-9]{1,8})?")
_SYMBOL = re.compile(r"[A-Z][A-Z0-9.-]{0,11}")


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {description}", [FieldViolation(field, description)])


def _uuid(value: str, field: str) -> str:
    try:
        uuid.UUID(value)
    except ValueError:
        raise _invalid(field, f"must be a UUID, got {value!r}") from None
    return value


def _symbol(value: str, field: str) -> str:
    if not _SYMBOL.fullmatch(value):
        raise _invalid(field, f"must be a ticker symbol, got {value!r}")
    return value


def _positive(text: str, field: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise _invalid(field, f"must be a decimal string like 12.5, got {text!r}")
    value = money.parse_field(text, field)
    if value <= 0:
        raise _invalid(field, "must be greater than 0")
    return value


def trade_input(event: trading_events.TradeExecuted) -> TradeInput:
    """The execution a TradeExecuted carries; INVALID_ARGUMENT when it is incomplete."""
    trade = event.trade
    if not event.HasField("trade"):
        raise _invalid("trade", "is required")
    fee = trade.fee if trade.HasField("fee") else None
    return TradeInput(
        trade_id=_uuid(trade.trade_id, "trade.trade_id"),
        portfolio_id=_uuid(trade.portfolio_id, "trade.portfolio_id"),
        order_id=_uuid(trade.order_id, "trade.order_id"),
        symbol=_symbol(trade.symbol, "trade.symbol"),
        side=convert.side(trade.side, "trade.side"),
        quantity=_positive(trade.quantity, "trade.quantity"),
        price=_positive(trade.price, "trade.price"),
        notional=money.from_money(trade.notional, "trade.notional"),
        notional_currency=trade.notional.currency_code,
        fee=money.ZERO if fee is None else money.from_money(fee, "trade.fee"),
        fee_currency="" if fee is None else fee.currency_code,
        executed_at=convert.seconds(trade.execute_time)
        if trade.HasField("execute_time")
        else convert.seconds(event.occurred_at),
    )


def trade_input_from_request(request: portfolio_pb2.SettleTradeRequest) -> TradeInput:
    """The execution of a SettleTradeRequest (already checked by the validation interceptor
    against the same constraints)."""
    fee = request.fee if request.HasField("fee") else None
    return TradeInput(
        trade_id=request.trade_id,
        portfolio_id=request.portfolio_id,
        order_id=request.order_id,
        symbol=request.symbol,
        side=convert.side(request.side),
        quantity=_positive(request.quantity, "quantity"),
        price=_positive(request.price, "price"),
        notional=money.from_money(request.notional, "notional"),
        notional_currency=request.notional.currency_code,
        fee=money.ZERO if fee is None else money.from_money(fee, "fee"),
        fee_currency="" if fee is None else fee.currency_code,
        executed_at=convert.seconds(request.execute_time),
    )
