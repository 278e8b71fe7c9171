"""TradingConfig: bad values fail at start-up naming their key; DATABASE_URL is the fallback."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mesh.config import ConfigError
from services.trading import TradingConfig


def test_defaults_are_valid() -> None:
    config = TradingConfig.load(environ={})
    assert config.database_url is None
    assert config.limit("default_max_order_notional") == Decimal(1_000_000)
    assert config.limit("default_max_daily_notional") is None
    assert config.fee_decimal == Decimal("0.0005")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TRADEMESH_TRADING_FEE_RATE", "lots"),
        ("TRADEMESH_TRADING_FEE_RATE", "1.5"),
        ("TRADEMESH_TRADING_DEFAULT_MAX_ORDER_QUANTITY", "-3"),
        ("TRADEMESH_TRADING_MAX_POSITION_QUANTITY", "NaN"),
        ("TRADEMESH_TRADING_SWEEP_INTERVAL_SECONDS", "0"),
        ("TRADEMESH_TRADING_ORDER_UPDATES", "carrier-pigeon"),
        ("TRADEMESH_TRADING_LIMITS_CURRENCY", "usd"),
    ],
)
def test_bad_values_name_their_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        TradingConfig.load(environ={key: value})
    assert key in str(raised.value)


def test_database_url_falls_back_to_the_shared_one() -> None:
    shared = "postgresql://u@db/trademesh"
    assert TradingConfig.load(environ={"DATABASE_URL": shared}).database_url == shared
    own = {"DATABASE_URL": shared, "TRADEMESH_TRADING_DATABASE_URL": "postgresql://u@db/trading"}
    assert TradingConfig.load(environ=own).database_url == "postgresql://u@db/trading"
    empty = {"DATABASE_URL": shared, "TRADEMESH_TRADING_DATABASE_URL": ""}
    assert TradingConfig.load(environ=empty).database_url is None
