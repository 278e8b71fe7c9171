"""Exact amounts: decimal strings in, canonical text out, cents rounding and Money both ways."""

from __future__ import annotations

from decimal import Decimal

import pytest
from google.type import money_pb2

from mesh import money


@pytest.mark.parametrize("text", ["1.50", "-0.000000001", "1E+3", "123456789012345678.12345678"])
def test_decimal_strings_parse_exactly(text: str) -> None:
    assert money.parse_decimal(text) == Decimal(text)


@pytest.mark.parametrize("text", ["", "abc", "1,5", "NaN", "Infinity", "-inf"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(money.InvalidAmount, match="not a"):
        money.parse_decimal(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.500", "1.5"), ("1E+3", "1000"), ("0.00", "0"), ("-0", "0"), ("-2.10", "-2.1")],
)
def test_canonical_text_is_plain_without_trailing_zeros(value: str, expected: str) -> None:
    assert money.canonical(Decimal(value)) == expected
    assert money.text(Decimal(value)) == expected


def test_no_value_is_an_empty_field() -> None:
    assert money.text(None) == ""


def test_cents_round_half_even_and_up() -> None:
    assert money.cents(Decimal("1.005")) == Decimal("1.00")
    assert money.cents(Decimal("1.015")) == Decimal("1.02")
    assert money.cents_up(Decimal("1.001")) == Decimal("1.01")
    assert money.cents_up(Decimal("-1.009")) == Decimal("-1.00")


@pytest.mark.parametrize("value", ["0", "12.34", "-12.34", "-0.5", "0.999999999", "1e-9"])
def test_money_round_trips(value: str) -> None:
    message = money.to_money(Decimal(value), "USD")
    assert message.currency_code == "USD"
    assert message.units * message.nanos >= 0
    assert money.from_money(message) == Decimal(value)


def test_to_money_rounds_to_nanos_without_overflowing_them() -> None:
    message = money.to_money(Decimal("0.9999999999"), "EUR")
    assert (message.units, message.nanos) == (1, 0)


@pytest.mark.parametrize(("units", "nanos"), [(1, -5), (-1, 5), (0, 1_000_000_000)])
def test_money_with_disagreeing_parts_is_refused(units: int, nanos: int) -> None:
    with pytest.raises(money.InvalidAmount, match="same sign"):
        money.from_money(money_pb2.Money(currency_code="USD", units=units, nanos=nanos))


def test_show_keeps_cents_and_more_only_when_needed() -> None:
    assert money.show(Decimal("1234.5"), "USD") == "1234.50 USD"
    assert money.show(Decimal("0.125"), "USD") == "0.125 USD"
