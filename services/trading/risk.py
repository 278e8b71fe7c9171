"""Pre-trade risk checks and the cash an order reserves; each refusal is FAILED_PRECONDITION.

Every refusal carries a sentence the user can read and a stable ErrorInfo reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mesh.errors import FailedPrecondition
from mesh.money import cents, cents_up, text
from services.trading.models import OrderRequest, OrderType, RiskLimits, Side
from services.trading.store import Activity
from services.trading.upstreams import Instrument, Price


@dataclass(frozen=True, slots=True)
class Fees:
    rate: Decimal
    minimum: Decimal

    def fee(self, notional: Decimal) -> Decimal:
        return max(self.minimum, cents(notional * self.rate))


@dataclass(frozen=True, slots=True)
class Assessment:
    """An order that passed: the price it is judged at and the cash a buy must reserve."""

    reference_price: Decimal
    notional: Decimal
    reserve: Decimal  # 0 for sells
    currency: str


def refuse(reason: str, message: str, **metadata: str) -> FailedPrecondition:
    return FailedPrecondition(message, reason=reason, metadata=metadata)


def check_instrument(request: OrderRequest, instrument: Instrument) -> None:
    if not instrument.tradable:
        raise refuse(
            "INSTRUMENT_NOT_TRADABLE",
            f"{request.symbol} is not tradable at the moment",
            symbol=request.symbol,
        )
    lot = instrument.lot_size
    if lot > 0 and request.quantity % lot != 0:
        raise refuse(
            "LOT_SIZE",
            f"quantity {text(request.quantity)} is not a multiple of {request.symbol}'s lot "
            f"size {text(lot)}",
            lot_size=text(lot),
        )


def assess(
    request: OrderRequest,
    price: Price,
    *,
    currency: str,
    fees: Fees,
    market_buy_buffer: Decimal,
) -> Assessment:
    """The order's reference price, notional and, for a buy, the cash to reserve."""
    if request.order_type is OrderType.LIMIT and request.limit_price is not None:
        reference = request.limit_price
    else:
        reference = price.ask if request.side is Side.BUY else price.bid
    notional = request.quantity * reference
    reserve = Decimal(0)
    if request.side is Side.BUY:
        worst = notional
        if request.order_type is OrderType.MARKET:
            worst = notional * (1 + market_buy_buffer)
        worst = cents_up(worst)
        reserve = worst + fees.fee(worst)
    return Assessment(reference, notional, reserve, currency)


def check_limits(
    request: OrderRequest,
    assessment: Assessment,
    limits: RiskLimits,
    activity: Activity,
    *,
    max_position: Decimal | None,
    held: Decimal | None,
) -> None:
    """Raise FAILED_PRECONDITION for the first limit the order would break."""
    if limits.trading_disabled:
        raise refuse("TRADING_DISABLED", "trading is disabled for this account")
    if limits.max_order_quantity is not None and request.quantity > limits.max_order_quantity:
        raise refuse(
            "QUANTITY_LIMIT",
            f"quantity {text(request.quantity)} exceeds the limit of "
            f"{text(limits.max_order_quantity)} per order",
            limit=text(limits.max_order_quantity),
        )
    same_currency = limits.currency == assessment.currency
    notional = cents(assessment.notional)
    if (
        same_currency
        and limits.max_order_notional is not None
        and notional > limits.max_order_notional
    ):
        raise refuse(
            "NOTIONAL_LIMIT",
            f"order value {text(notional)} {limits.currency} exceeds the limit of "
            f"{text(limits.max_order_notional)} {limits.currency} per order",
            limit=text(limits.max_order_notional),
        )
    if (
        same_currency
        and limits.max_daily_notional is not None
        and activity.day_notional + notional > limits.max_daily_notional
    ):
        raise refuse(
            "DAILY_NOTIONAL_LIMIT",
            f"this order would bring today's traded value to "
            f"{text(cents(activity.day_notional + notional))} {limits.currency}, over the "
            f"daily limit of {text(limits.max_daily_notional)} {limits.currency}",
            limit=text(limits.max_daily_notional),
        )
    if limits.max_open_orders and activity.open_orders >= limits.max_open_orders:
        raise refuse(
            "OPEN_ORDERS_LIMIT",
            f"{activity.open_orders} orders are already open, the most allowed at once",
            limit=str(limits.max_open_orders),
        )
    if held is None:
        return
    if request.side is Side.SELL:
        available = held - activity.working_quantity(request.symbol, Side.SELL)
        if request.quantity > available:
            raise refuse(
                "INSUFFICIENT_HOLDINGS",
                f"cannot sell {text(request.quantity)} {request.symbol}: "
                f"{text(max(available, Decimal(0)))} available (held {text(held)}, the rest "
                "is in open sell orders)",
                available=text(max(available, Decimal(0))),
            )
    elif max_position is not None:
        after = held + activity.working_quantity(request.symbol, Side.BUY) + request.quantity
        if after > max_position:
            raise refuse(
                "POSITION_LIMIT",
                f"this order would take the {request.symbol} position to {text(after)}, "
                f"over the limit of {text(max_position)}",
                limit=text(max_position),
            )
