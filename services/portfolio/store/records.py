"""What the portfolio store keeps, as plain frozen records with Decimal amounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class ReservationStatus(StrEnum):
    OPEN = "open"  # holds `remaining` of the portfolio's reserved cash
    CONSUMED = "consumed"  # a buy settled against it; what was left over was released
    RELEASED = "released"  # given back (order cancelled, rejected or expired)


@dataclass(frozen=True, slots=True)
class PortfolioRecord:
    portfolio_id: str
    user_id: str
    name: str
    description: str
    base_currency: str
    initial_cash: Decimal
    cash: Decimal  # all cash, reserved or not
    reserved: Decimal  # the sum of the open reservations' remaining amounts
    created_at: float
    updated_at: float
    deleted_at: float | None = None

    @property
    def available(self) -> Decimal:
        return self.cash - self.reserved

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True, slots=True)
class PositionRecord:
    portfolio_id: str
    symbol: str
    quantity: Decimal
    average_cost: Decimal  # per unit, fees included
    realized_pnl: Decimal
    last_price: Decimal  # price of the latest trade in the symbol
    updated_at: float

    @property
    def is_open(self) -> bool:
        return self.quantity != 0


@dataclass(frozen=True, slots=True)
class ReservationRecord:
    order_id: str
    portfolio_id: str
    amount: Decimal  # as reserved
    remaining: Decimal  # still held
    status: ReservationStatus
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class TradeRecord:
    trade_id: str
    portfolio_id: str
    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    notional: Decimal
    fee: Decimal
    realized_pnl: Decimal  # of a sell; zero for a buy
    executed_at: float
    settled_at: float


@dataclass(frozen=True, slots=True)
class ValuePoint:
    at: float
    value: Decimal


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A portfolio and every position it has ever had (closed ones with quantity zero)."""

    portfolio: PortfolioRecord
    positions: tuple[PositionRecord, ...]

    @property
    def open_positions(self) -> tuple[PositionRecord, ...]:
        return tuple(p for p in self.positions if p.is_open)
