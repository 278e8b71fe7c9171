"""PortfolioConfig: defaults, the DATABASE_URL fallback and bad values named by their key."""

from __future__ import annotations

import pytest

from mesh.config import ConfigError
from services.portfolio import PortfolioConfig


def test_defaults_use_sqlite_in_the_state_dir() -> None:
    config = PortfolioConfig.load(environ={"TRADEMESH_STATE_DIR": "/tmp/state"})
    assert config.database_url is None
    assert config.sqlite_path.name == "portfolio.sqlite3"
    assert config.revalue_interval_seconds == 1.0


def test_database_url_falls_back_to_the_shared_one() -> None:
    shared = {"DATABASE_URL": "postgresql://db/shared"}
    assert PortfolioConfig.load(environ=shared).database_url == "postgresql://db/shared"
    own = {**shared, "TRADEMESH_PORTFOLIO_DATABASE_URL": "postgresql://db/own"}
    assert PortfolioConfig.load(environ=own).database_url == "postgresql://db/own"
    # An empty own URL means SQLite on purpose, whatever DATABASE_URL says.
    empty = {**shared, "TRADEMESH_PORTFOLIO_DATABASE_URL": ""}
    assert not PortfolioConfig.load(environ=empty).database_url


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TRADEMESH_PORTFOLIO_REVALUE_INTERVAL_SECONDS", "0"),
        ("TRADEMESH_PORTFOLIO_QUOTE_TIMEOUT_SECONDS", "-1"),
        ("TRADEMESH_PORTFOLIO_DATABASE_MAX_CONNECTIONS", "0"),
        ("TRADEMESH_PORTFOLIO_CONSUMER_GROUP", " "),
        ("TRADEMESH_PORTFOLIO_TOPICS_TIMEOUT_SECONDS", "soon"),
    ],
)
def test_bad_values_name_their_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        PortfolioConfig.load(environ={key: value})
    assert key in str(raised.value)


def test_the_url_is_kept_out_of_repr() -> None:
    config = PortfolioConfig(database_url="postgresql://user:secret@db/portfolio")
    assert "secret" not in repr(config)
