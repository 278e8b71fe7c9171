"""The execution to settle, read from a TradeExecuted event or a SettleTradeRequest."""

from __future__ import annotations

from trademesh.portfolio.v1 import portfolio_pb2
from trademesh.trading.v1 import events_pb2 as trading_events

from mesh.errors import FieldViolation, InvalidArgument
from services.portfolio import convert, money
from services.portfolio.settlement import TradeInput


def _required(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument(f"{field}: is required", [FieldViolation(field, "is required")])
    return value


def trade_input(event: trading_events.TradeExecuted) -> TradeInput:
    """The execution a TradeExecuted carries; INVALID_ARGUMENT when it is incomplete."""
    trade = event.trade
    if not event.HasField("trade"):
        raise InvalidArgument("trade: is required", [FieldViolation("trade", "is required")])
    fee = trade.fee if trade.HasField("fee") else None
    return TradeInput(
        trade_id=_required(trade.trade_id, "trade.trade_id"),
        portfolio_id=_required(trade.portfolio_id, "trade.portfolio_id"),
        order_id=_required(trade.order_id, "trade.order_id"),
        symbol=_required(trade.symbol, "trade.symbol"),
        side=convert.side(trade.side, "trade.side"),
        quantity=money.parse_field(trade.quantity, "trade.quantity"),
        price=money.parse_field(trade.price, "trade.price"),
        notional=money.from_money(trade.notional, "trade.notional"),
        notional_currency=trade.notional.currency_code,
        fee=money.ZERO if fee is None else money.from_money(fee, "trade.fee"),
        fee_currency="" if fee is None else fee.currency_code,
        executed_at=convert.seconds(trade.execute_time)
        if trade.HasField("execute_time")
        else convert.seconds(event.occurred_at),
    )


def trade_input_from_request(request: portfolio_pb2.SettleTradeRequest) -> TradeInput:
    fee = request.fee if request.HasField("fee") else None
    return TradeInput(
        trade_id=request.trade_id,
        portfolio_id=request.portfolio_id,
        order_id=request.order_id,
        symbol=request.symbol,
        side=convert.side(request.side),
        quantity=money.parse_field(request.quantity, "quantity"),
        price=money.parse_field(request.price, "price"),
        notional=money.from_money(request.notional, "notional"),
        notional_currency=request.notional.currency_code,
        fee=money.ZERO if fee is None else money.from_money(fee, "fee"),
        fee_currency="" if fee is None else fee.currency_code,
        executed_at=convert.seconds(request.execute_time),
    )
