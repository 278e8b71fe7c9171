"""Decimal amounts: parsing decimal strings, rounding to cents, google.type.Money."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation

from google.type import money_pb2

CENT = Decimal("0.01")
_NANOS = Decimal(1_000_000_000)


def parse_decimal(text: str) -> Decimal:
    """A finite decimal from a string; ValueError otherwise."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return value


def text(value: Decimal | None) -> str:
    """A decimal as a plain string without exponent or trailing zeros; "" for None."""
    if value is None:
        return ""
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return str(normalized.quantize(Decimal(1)))
    return format(normalized, "f")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def cents_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_CEILING)


def to_money(value: Decimal, currency: str) -> money_pb2.Money:
    units = int(value)  # truncates toward zero, as Money wants units and nanos of one sign
    nanos = int(((value - units) * _NANOS).to_integral_value(rounding=ROUND_HALF_EVEN))
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def from_money(money: money_pb2.Money) -> Decimal:
    return Decimal(money.units) + Decimal(money.nanos) / _NANOS
