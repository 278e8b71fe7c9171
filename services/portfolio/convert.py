"""Between the portfolio records and the portfolio.v1 messages: one table per enum."""

from __future__ import annotations

from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.common.v1 import types_pb2
from trademesh.portfolio.v1 import portfolio_pb2

from mesh.errors import FieldViolation, InvalidArgument
from services.portfolio import money
from services.portfolio.store import PortfolioRecord, PositionRecord, Side

SIDES: dict[types_pb2.Side.ValueType, Side] = {
    types_pb2.SIDE_BUY: Side.BUY,
    types_pb2.SIDE_SELL: Side.SELL,
}


def timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(round(seconds * 1e9))
    return stamp


def seconds(stamp: Timestamp) -> float:
    return stamp.ToNanoseconds() / 1e9


def side(value: int, field: str = "side") -> Side:
    found = SIDES.get(types_pb2.Side.ValueType(value))
    if found is None:
        raise InvalidArgument(
            f"{field}: must be BUY or SELL", [FieldViolation(field, "must be BUY or SELL")]
        )
    return found


def portfolio_message(record: PortfolioRecord) -> portfolio_pb2.Portfolio:
    currency = record.base_currency
    return portfolio_pb2.Portfolio(
        portfolio_id=record.portfolio_id,
        user_id=record.user_id,
        name=record.name,
        description=record.description,
        base_currency=currency,
        cash_balance=money.to_money(record.cash, currency),
        reserved_cash=money.to_money(record.reserved, currency),
        available_cash=money.to_money(record.available, currency),
        create_time=timestamp(record.created_at),
        update_time=timestamp(record.updated_at),
    )


def position_message(
    record: PositionRecord, currency: str, market_price: Decimal | None = None
) -> portfolio_pb2.Position:
    """The position; its market fields are filled only when a `market_price` is known."""
    cost_basis = money.mul(record.quantity, record.average_cost)
    message = portfolio_pb2.Position(
        portfolio_id=record.portfolio_id,
        symbol=record.symbol,
        quantity=money.canonical(record.quantity),
        average_cost=money.canonical(record.average_cost),
        cost_basis=money.to_money(cost_basis, currency),
        realized_pnl=money.to_money(record.realized_pnl, currency),
        update_time=timestamp(record.updated_at),
    )
    if market_price is not None:
        market_value = money.mul(record.quantity, market_price)
        message.market_price = money.canonical(market_price)
        message.market_value.CopyFrom(money.to_money(market_value, currency))
        message.unrealized_pnl.CopyFrom(money.to_money(market_value - cost_basis, currency))
    return message
