"""The trading service's settings: the `[trading]` section / `TRADEMESH_TRADING_*`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from mesh.config import ConfigError, env_key
from mesh.money import parse_decimal
from mesh.store import default_sqlite_path, load_service_config

SECTION = "trading"
SOURCES = ("kafka", "local")


def _key(name: str) -> str:
    return env_key(SECTION, name)


def _decimal(name: str, raw: str | None, *, allow_zero: bool = False) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        value = parse_decimal(raw)
    except ValueError as exc:
        raise ConfigError(_key(name), str(exc)) from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(_key(name), f"must be {'>= 0' if allow_zero else '> 0'}, got {raw}")
    return value


@dataclass(frozen=True, slots=True)
class TradingConfig:
    # postgresql://user:pass@host/db selects PostgreSQL; unset means SQLite at sqlite_path.
    database_url: str | None = field(default=None, repr=False)
    sqlite_path: Path = field(default_factory=lambda: default_sqlite_path(SECTION))
    database_max_connections: int = 10

    # The limits of a user no admin has set limits for; empty means no limit.
    default_max_order_quantity: str | None = "100000"
    default_max_order_notional: str | None = "1000000"
    default_max_daily_notional: str | None = None
    default_max_open_orders: int = 200
    # Largest position (held plus open buys) an order may lead to in one symbol, for everyone.
    max_position_quantity: str | None = None
    # The currency notional limits are written in; orders in other currencies skip them.
    limits_currency: str = "USD"

    # The fee of an execution: notional * fee_rate, at least min_fee, in cents.
    fee_rate: str = "0.0005"
    min_fee: str = "0"
    # A market buy reserves its notional at the ask plus this fraction, for the move between
    # acceptance and execution.
    market_buy_buffer: str = "0.02"

    # A market order the process could not execute within this (it crashed, the quote is
    # gone) expires and gives its cash back instead of filling at a stale price.
    market_order_timeout_seconds: float = 60.0
    # An order left between two saga steps for this long is taken over by the sweep.
    stale_after_seconds: float = 10.0
    # A PENDING order that still has no reservation after this long is rejected and released.
    pending_timeout_seconds: float = 300.0
    # How often the sweep resumes or compensates interrupted orders and expires day orders.
    sweep_interval_seconds: float = 5.0

    # How long start-up waits for Kafka to confirm the topics before going on without it.
    topics_timeout_seconds: float = 15.0

    # Where StreamOrderUpdates hears of changes: "kafka" (trading.orders.v1, every instance
    # sees every order) or "local" (only this process's own changes; one instance, no Kafka).
    order_updates: str = "kafka"
    # Where resting limit orders hear of prices: "kafka" (marketdata.quotes.v1) or "local"
    # (quotes handed to `Matcher.on_quote` by the embedding code).
    quote_feed: str = "kafka"

    def __post_init__(self) -> None:
        if self.database_max_connections < 1:
            raise ConfigError(_key("database_max_connections"), "must be at least 1")
        if self.default_max_open_orders < 0:
            raise ConfigError(_key("default_max_open_orders"), "must be >= 0 (0: no limit)")
        for name in (
            "default_max_order_quantity",
            "default_max_order_notional",
            "default_max_daily_notional",
            "max_position_quantity",
        ):
            _decimal(name, getattr(self, name))
        for name in ("fee_rate", "min_fee", "market_buy_buffer"):
            if _decimal(name, getattr(self, name), allow_zero=True) is None:
                raise ConfigError(_key(name), "must be set")
        if self.fee_decimal >= 1:
            raise ConfigError(_key("fee_rate"), "must be below 1")
        for name in (
            "market_order_timeout_seconds",
            "stale_after_seconds",
            "pending_timeout_seconds",
            "sweep_interval_seconds",
            "topics_timeout_seconds",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError(_key(name), f"must be positive, got {getattr(self, name)}")
        if len(self.limits_currency) != 3 or not self.limits_currency.isupper():
            raise ConfigError(_key("limits_currency"), "must be a 3-letter ISO 4217 code")
        for name in ("order_updates", "quote_feed"):
            if getattr(self, name) not in SOURCES:
                raise ConfigError(_key(name), f"must be one of {SOURCES}")

    def limit(self, name: str) -> Decimal | None:
        return _decimal(name, getattr(self, name))

    @property
    def fee_decimal(self) -> Decimal:
        return parse_decimal(self.fee_rate)

    @property
    def min_fee_decimal(self) -> Decimal:
        return parse_decimal(self.min_fee)

    @property
    def market_buy_buffer_decimal(self) -> Decimal:
        return parse_decimal(self.market_buy_buffer)

    @classmethod
    def load(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        toml: Mapping[str, Any] | None = None,
    ) -> TradingConfig:
        """Read `[trading]` / `TRADEMESH_TRADING_*`; a plain `DATABASE_URL` is the fallback
        when neither names a database URL."""
        return load_service_config(cls, SECTION, environ=environ, toml=toml)
