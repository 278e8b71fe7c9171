"""MarketDataConfig: defaults, environment and TOML, and bad values failing with their key."""

from __future__ import annotations

import pytest

from mesh.config import ConfigError
from services.marketdata import MarketDataConfig


def test_defaults_are_a_seeded_one_second_simulated_feed() -> None:
    config = MarketDataConfig.load(environ={})
    assert config.provider == "simulated"
    assert config.seed == 42
    assert config.tick_interval_seconds == 1.0
    assert config.symbols == ()
    assert config.publish_quotes


def test_environment_wins_over_toml() -> None:
    config = MarketDataConfig.load(
        environ={
            "TRADEMESH_MARKETDATA_SEED": "7",
            "TRADEMESH_MARKETDATA_SYMBOLS": "AAPL,MSFT",
        },
        toml={"marketdata": {"seed": 3, "tick_interval_seconds": 0.25}},
    )
    assert config.seed == 7
    assert config.tick_interval_seconds == 0.25
    assert config.symbols == ("AAPL", "MSFT")


@pytest.mark.parametrize(
    ("key", "value", "complaint"),
    [
        ("TRADEMESH_MARKETDATA_TICK_INTERVAL_SECONDS", "0", "must be in"),
        ("TRADEMESH_MARKETDATA_TICK_INTERVAL_SECONDS", "soon", "not a valid float"),
        ("TRADEMESH_MARKETDATA_SEED", "1.5", "not a valid int"),
        ("TRADEMESH_MARKETDATA_VOLATILITY", "2", "must be in"),
        ("TRADEMESH_MARKETDATA_SPREAD_BPS", "0", "must be in"),
        ("TRADEMESH_MARKETDATA_MAX_SUBSCRIBERS", "0", "at least 1"),
        ("TRADEMESH_MARKETDATA_SYMBOLS", "AAPL,NOPE", "NOPE"),
        ("TRADEMESH_MARKETDATA_SYMBOLS", "AAPL,AAPL", "twice"),
        ("TRADEMESH_MARKETDATA_PROVIDER", "bloomberg", "unknown provider"),
        ("TRADEMESH_MARKETDATA_PUBLISH_QUOTES", "perhaps", "not a valid bool"),
    ],
)
def test_a_bad_value_names_its_key(key: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as raised:
        MarketDataConfig.load(environ={key: value})
    assert key in str(raised.value)
    assert complaint in str(raised.value)


def test_an_unknown_toml_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="tick_seconds"):
        MarketDataConfig.load(environ={}, toml={"marketdata": {"tick_seconds": 1}})
