"""Between the trading records and the trading.v1 messages: one table per enum."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.common.v1 import types_pb2
from trademesh.trading.v1 import trading_pb2

from mesh.money import text, to_money
from services.trading.models import (
    Order,
    OrderStatus,
    OrderType,
    RiskLimits,
    Side,
    TimeInForce,
    Trade,
)

STATUSES: dict[OrderStatus, trading_pb2.OrderStatus.ValueType] = {
    OrderStatus.PENDING: trading_pb2.ORDER_STATUS_PENDING,
    OrderStatus.OPEN: trading_pb2.ORDER_STATUS_OPEN,
    OrderStatus.PARTIALLY_FILLED: trading_pb2.ORDER_STATUS_PARTIALLY_FILLED,
    OrderStatus.FILLED: trading_pb2.ORDER_STATUS_FILLED,
    OrderStatus.CANCELLED: trading_pb2.ORDER_STATUS_CANCELLED,
    OrderStatus.REJECTED: trading_pb2.ORDER_STATUS_REJECTED,
    OrderStatus.EXPIRED: trading_pb2.ORDER_STATUS_EXPIRED,
}
STATUSES_BY_NUMBER = {number: status for status, number in STATUSES.items()}

SIDES: dict[Side, types_pb2.Side.ValueType] = {
    Side.BUY: types_pb2.SIDE_BUY,
    Side.SELL: types_pb2.SIDE_SELL,
}
SIDES_BY_NUMBER = {number: side for side, number in SIDES.items()}

ORDER_TYPES: dict[OrderType, trading_pb2.OrderType.ValueType] = {
    OrderType.MARKET: trading_pb2.ORDER_TYPE_MARKET,
    OrderType.LIMIT: trading_pb2.ORDER_TYPE_LIMIT,
}
ORDER_TYPES_BY_NUMBER = {number: kind for kind, number in ORDER_TYPES.items()}

TIME_IN_FORCE: dict[TimeInForce, trading_pb2.TimeInForce.ValueType] = {
    TimeInForce.DAY: trading_pb2.TIME_IN_FORCE_DAY,
    TimeInForce.GTC: trading_pb2.TIME_IN_FORCE_GTC,
    TimeInForce.IOC: trading_pb2.TIME_IN_FORCE_IOC,
}
# Unset means DAY, as the contract says.
TIME_IN_FORCE_BY_NUMBER = {number: tif for tif, number in TIME_IN_FORCE.items()} | {
    trading_pb2.TIME_IN_FORCE_UNSPECIFIED: TimeInForce.DAY
}


def timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1_000_000_000))
    return stamp


def seconds(stamp: Timestamp) -> float:
    return stamp.ToNanoseconds() / 1_000_000_000


def order_message(order: Order) -> trading_pb2.Order:
    return trading_pb2.Order(
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        user_id=order.user_id,
        portfolio_id=order.portfolio_id,
        symbol=order.symbol,
        side=SIDES[order.side],
        order_type=ORDER_TYPES[order.order_type],
        time_in_force=TIME_IN_FORCE[order.time_in_force],
        quantity=text(order.quantity),
        limit_price=text(order.limit_price),
        status=STATUSES[order.status],
        filled_quantity=text(order.filled_quantity),
        average_fill_price=text(order.average_fill_price),
        reject_reason=order.reject_reason,
        create_time=timestamp(order.created_at),
        update_time=timestamp(order.updated_at),
    )


def trade_message(trade: Trade) -> trading_pb2.Trade:
    return trading_pb2.Trade(
        trade_id=trade.trade_id,
        order_id=trade.order_id,
        user_id=trade.user_id,
        portfolio_id=trade.portfolio_id,
        symbol=trade.symbol,
        side=SIDES[trade.side],
        quantity=text(trade.quantity),
        price=text(trade.price),
        notional=to_money(trade.notional, trade.currency),
        fee=to_money(trade.fee, trade.currency),
        execute_time=timestamp(trade.executed_at),
    )


def limits_message(limits: RiskLimits) -> trading_pb2.RiskLimits:
    message = trading_pb2.RiskLimits(
        user_id=limits.user_id,
        max_order_quantity=text(limits.max_order_quantity),
        max_open_orders=limits.max_open_orders,
        trading_disabled=limits.trading_disabled,
    )
    if limits.max_order_notional is not None:
        message.max_order_notional.CopyFrom(to_money(limits.max_order_notional, limits.currency))
    if limits.max_daily_notional is not None:
        message.max_daily_notional.CopyFrom(to_money(limits.max_daily_notional, limits.currency))
    if limits.updated_at is not None:
        message.update_time.CopyFrom(timestamp(limits.updated_at))
    return message
