"""The trading domain's records: orders, trades and risk limits, as the store keeps them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
WORKING_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


class TimeInForce(StrEnum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"


class Reservation(StrEnum):
    """Where the order's cash reservation in portfolio stands (buys only)."""

    NONE = "none"  # sells, and orders refused before any reservation was asked for
    RESERVING = "reserving"  # ReserveCash asked (or about to be); the outcome is not recorded
    HELD = "held"  # portfolio holds `reserved_amount` for the order
    RELEASING = "releasing"  # the order ended without a fill: ReleaseCash is owed
    RELEASED = "released"  # ReleaseCash answered
    CONSUMED = "consumed"  # the order filled: settlement consumes it


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the caller asked for, once validated."""

    user_id: str
    client_order_id: str
    portfolio_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    limit_price: Decimal | None

    def same_order(self, order: Order) -> bool:
        """Whether `order` is what this request asks for (an idempotent repeat)."""
        return (
            order.portfolio_id == self.portfolio_id
            and order.symbol == self.symbol
            and order.side == self.side
            and order.order_type == self.order_type
            and order.time_in_force == self.time_in_force
            and order.quantity == self.quantity
            and order.limit_price == self.limit_price
        )


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    client_order_id: str
    user_id: str
    portfolio_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    limit_price: Decimal | None
    status: OrderStatus
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    reject_reason: str
    reject_code: str
    currency: str
    reservation: Reservation
    reserved_amount: Decimal  # cash asked of portfolio for a buy (0 for sells)
    quote_price: Decimal | None  # the price seen at acceptance (market orders fill near it)
    expires_at: float | None  # DAY orders: the end of the UTC day they were placed in
    correlation_id: str
    created_at: float
    updated_at: float
    version: int = 1

    def changed(self, *, now: float, **changes: object) -> Order:
        return replace(self, updated_at=now, version=self.version + 1, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Trade:
    trade_id: str
    order_id: str
    user_id: str
    portfolio_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    notional: Decimal
    fee: Decimal
    currency: str
    executed_at: float


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Per-user limits; None means no limit. `updated_at` is None for the defaults."""

    user_id: str
    max_order_quantity: Decimal | None = None
    max_order_notional: Decimal | None = None
    max_daily_notional: Decimal | None = None
    currency: str = "USD"
    max_open_orders: int = 0
    trading_disabled: bool = False
    updated_at: float | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_page_token: str
