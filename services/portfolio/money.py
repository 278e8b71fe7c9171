"""Exact decimal arithmetic for cash, prices and quantities, and google.type.Money conversion.

Amounts are `decimal.Decimal` everywhere and are stored as canonical decimal strings: exact,
free of any integer range limit (quantities carry 18 integer and 8 fractional digits, which a
scaled BIGINT cannot hold once multiplied by a price), and the same text in SQLite and
PostgreSQL. SQL never adds them up: running totals (cash, reserved cash) live on the portfolio
row and are changed in Python inside the transaction that locks that row.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_EVEN, Decimal

from google.type import money_pb2

from mesh.errors import FieldViolation, InvalidArgument

# Wide enough for a 26-digit quantity times a 26-digit price without rounding.
CONTEXT = decimal.Context(prec=80, rounding=ROUND_HALF_EVEN, traps=[decimal.InvalidOperation])
NANO = Decimal("0.000000001")  # google.type.Money resolution
PRICE_STEP = Decimal("0.00000001")  # average costs and prices keep 8 decimals
PERCENT_STEP = Decimal("0.01")
ZERO = Decimal(0)


def canonical(value: Decimal) -> str:
    """The stored text of `value`: plain notation, no exponent, no trailing zeros, "0" for
    zero of either sign."""
    if value == 0:
        return "0"
    return format(value.normalize(CONTEXT), "f")


def parse(text: str) -> Decimal:
    """A stored decimal string back as a Decimal."""
    return Decimal(text)


def parse_field(text: str, field: str) -> Decimal:
    """A decimal string from a request; INVALID_ARGUMENT naming `field` if it is not one."""
    try:
        value = Decimal(text)
    except decimal.InvalidOperation:
        raise _invalid(field, f"{text!r} is not a decimal number") from None
    if not value.is_finite():
        raise _invalid(field, f"{text!r} is not a finite decimal number")
    return value


def cash(value: Decimal) -> Decimal:
    """Round a cash amount to Money's resolution (nanos)."""
    return value.quantize(NANO, context=CONTEXT)


def price(value: Decimal) -> Decimal:
    return value.quantize(PRICE_STEP, context=CONTEXT)


def mul(a: Decimal, b: Decimal) -> Decimal:
    return CONTEXT.multiply(a, b)


def div(a: Decimal, b: Decimal) -> Decimal:
    return CONTEXT.divide(a, b)


def to_money(value: Decimal, currency: str) -> money_pb2.Money:
    """`value` as google.type.Money; units and nanos carry the same sign."""
    rounded = cash(value)
    units = int(rounded)  # truncates toward zero, so the remainder has the sign of value
    nanos = int((rounded - units) / NANO)
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def from_money(money: money_pb2.Money, field: str, *, currency: str | None = None) -> Decimal:
    """The amount of a Money field; INVALID_ARGUMENT when its sign is inconsistent or its
    currency is not `currency`."""
    if currency is not None and money.currency_code != currency:
        raise _invalid(
            f"{field}.currency_code",
            f"must be the portfolio's base currency {currency}, got {money.currency_code!r}",
        )
    if not -999_999_999 <= money.nanos <= 999_999_999 or (
        money.units > 0 > money.nanos or money.units < 0 < money.nanos
    ):
        raise _invalid(field, "units and nanos must have the same sign, |nanos| < 10^9")
    return Decimal(money.units) + Decimal(money.nanos) * NANO


def show(value: Decimal, currency: str) -> str:
    """`value` for a message a person reads: "1234.50 USD" (more decimals only when needed)."""
    cents = value.quantize(Decimal("0.01"), context=CONTEXT)
    text = format(cents, "f") if cents == value else canonical(value)
    return f"{text} {currency}"


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {description}", [FieldViolation(field, description)])
