"""Portfolio's amounts: `mesh.money` plus price and percent steps and field-named refusals.

Amounts are `decimal.Decimal` everywhere and are stored as canonical decimal strings: exact,
free of any integer range limit (quantities carry 18 integer and 8 fractional digits, which a
scaled BIGINT cannot hold once multiplied by a price), and the same text in SQLite and
PostgreSQL. SQL never adds them up: running totals (cash, reserved cash) live on the portfolio
row and are changed in Python inside the transaction that locks that row.
"""

from __future__ import annotations

from decimal import Decimal

from google.type import money_pb2

from mesh import money
from mesh.errors import FieldViolation, InvalidArgument
from mesh.money import CONTEXT, ZERO, canonical, div, mul, show, to_money

__all__ = [
    "CONTEXT",
    "PERCENT_STEP",
    "PRICE_STEP",
    "ZERO",
    "canonical",
    "cash",
    "div",
    "from_money",
    "mul",
    "parse_field",
    "price",
    "show",
    "to_money",
]

PRICE_STEP = Decimal("0.00000001")  # average costs and prices keep 8 decimals
PERCENT_STEP = Decimal("0.01")

cash = money.nanos  # a cash amount at Money's resolution


def price(value: Decimal) -> Decimal:
    return value.quantize(PRICE_STEP, context=CONTEXT)


def parse_field(text: str, field: str) -> Decimal:
    """A decimal string from a request; INVALID_ARGUMENT naming `field` if it is not one."""
    try:
        return money.parse_decimal(text)
    except money.InvalidAmount as exc:
        raise _invalid(field, str(exc)) from None


def from_money(amount: money_pb2.Money, field: str, *, currency: str | None = None) -> Decimal:
    """The amount of a Money field; INVALID_ARGUMENT when its sign is inconsistent or its
    currency is not `currency`."""
    if currency is not None and amount.currency_code != currency:
        raise _invalid(
            f"{field}.currency_code",
            f"must be the portfolio's base currency {currency}, got {amount.currency_code!r}",
        )
    try:
        return money.from_money(amount)
    except money.InvalidAmount as exc:
        raise _invalid(field, str(exc)) from None


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {description}", [FieldViolation(field, description)])
