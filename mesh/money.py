"""Exact amounts: decimal strings, canonical text, cents rounding and google.type.Money."""

from __future__ import annotations

import decimal
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

from google.type import money_pb2

__all__ = [
    "CENT",
    "CONTEXT",
    "NANO",
    "ZERO",
    "InvalidAmount",
    "canonical",
    "cents",
    "cents_up",
    "div",
    "from_money",
    "mul",
    "nanos",
    "parse_decimal",
    "show",
    "text",
    "to_money",
]

# Wide enough for a 26-digit quantity times a 26-digit price without rounding.
CONTEXT = decimal.Context(prec=80, rounding=ROUND_HALF_EVEN, traps=[decimal.InvalidOperation])
NANO = Decimal("0.000000001")  # google.type.Money resolution
CENT = Decimal("0.01")
ZERO = Decimal(0)


class InvalidAmount(ValueError):
    """Text that is not a finite decimal number, or a Money whose parts disagree."""


def parse_decimal(text: str) -> Decimal:
    """A finite decimal from a decimal string; InvalidAmount otherwise."""
    try:
        value = Decimal(text)
    except decimal.InvalidOperation:
        raise InvalidAmount(f"{text!r} is not a decimal number") from None
    if not value.is_finite():
        raise InvalidAmount(f"{text!r} is not a finite decimal number")
    return value


def canonical(value: Decimal) -> str:
    """`value` as stored and sent: plain notation, no exponent, no trailing zeros, "0" for
    zero of either sign."""
    if value == 0:
        return "0"
    return format(value.normalize(CONTEXT), "f")


def text(value: Decimal | None) -> str:
    """A decimal-string field of a message: canonical, "" when there is no value."""
    return "" if value is None else canonical(value)


def cents(value: Decimal) -> Decimal:
    """`value` rounded half-even to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN, context=CONTEXT)


def cents_up(value: Decimal) -> Decimal:
    """`value` rounded up (toward +infinity) to cents."""
    return value.quantize(CENT, rounding=ROUND_CEILING, context=CONTEXT)


def nanos(value: Decimal) -> Decimal:
    """`value` rounded half-even to Money's resolution (nanos)."""
    return value.quantize(NANO, context=CONTEXT)


def mul(a: Decimal, b: Decimal) -> Decimal:
    return CONTEXT.multiply(a, b)


def div(a: Decimal, b: Decimal) -> Decimal:
    return CONTEXT.divide(a, b)


def to_money(value: Decimal, currency: str) -> money_pb2.Money:
    """`value` as google.type.Money, rounded to nanos; units and nanos carry the same sign."""
    rounded = nanos(value)
    units = int(rounded)  # truncates toward zero, so the remainder has the sign of value
    return money_pb2.Money(currency_code=currency, units=units, nanos=int((rounded - units) / NANO))


def from_money(money: money_pb2.Money) -> Decimal:
    """The amount of a Money; InvalidAmount when units and nanos disagree in sign or
    |nanos| is not below 10^9."""
    if not -999_999_999 <= money.nanos <= 999_999_999 or (
        money.units > 0 > money.nanos or money.units < 0 < money.nanos
    ):
        raise InvalidAmount("units and nanos must have the same sign, |nanos| < 10^9")
    return Decimal(money.units) + Decimal(money.nanos) * NANO


def show(value: Decimal, currency: str) -> str:
    """`value` for a message a person reads: "1234.50 USD" (more decimals only when needed)."""
    in_cents = cents(value)
    shown = format(in_cents, "f") if in_cents == value else canonical(value)
    return f"{shown} {currency}"
