"""The marketdata service's settings: the `[marketdata]` section / `TRADEMESH_MARKETDATA_*`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mesh.config import ConfigError, load_section
from services.marketdata.universe import INSTRUMENTS

SECTION = "marketdata"
PROVIDERS = ("simulated",)


def _key(name: str) -> str:
    return f"TRADEMESH_{SECTION}_{name}".upper()


@dataclass(frozen=True, slots=True)
class MarketDataConfig:
    # Where quotes come from; "simulated" is the seeded random walk.
    provider: str = "simulated"
    # The simulated feed's seed: the same seed gives the same price path.
    seed: int = 42
    tick_interval_seconds: float = 1.0
    # Standard deviation of the price's relative move over a whole day (0.02 is 2 %).
    volatility: float = 0.02
    # Quoted bid/ask spread in basis points of the price, at least one tick.
    spread_bps: int = 10
    # Serve only these symbols of the universe; empty serves all of them.
    symbols: tuple[str, ...] = ()
    # Concurrent StreamQuotes calls one instance accepts before RESOURCE_EXHAUSTED.
    max_subscribers: int = 10_000
    # Publish every quote as QuoteUpdated on marketdata.quotes.v1.
    publish_quotes: bool = True

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise ConfigError(
                _key("provider"), f"unknown provider {self.provider!r}; known: {PROVIDERS}"
            )
        if not 0.001 <= self.tick_interval_seconds <= 3600:
            raise ConfigError(
                _key("tick_interval_seconds"),
                f"must be in [0.001, 3600], got {self.tick_interval_seconds}",
            )
        if not 0 < self.volatility <= 1:
            raise ConfigError(_key("volatility"), f"must be in (0, 1], got {self.volatility}")
        if not 1 <= self.spread_bps <= 1000:
            raise ConfigError(_key("spread_bps"), f"must be in 1..1000, got {self.spread_bps}")
        if self.max_subscribers < 1:
            raise ConfigError(
                _key("max_subscribers"), f"must be at least 1, got {self.max_subscribers}"
            )
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError(_key("symbols"), "lists a symbol twice")
        unknown = sorted(set(self.symbols) - {i.symbol for i in INSTRUMENTS})
        if unknown:
            raise ConfigError(_key("symbols"), f"not in the universe: {', '.join(unknown)}")

    @classmethod
    def load(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        toml: Mapping[str, Any] | None = None,
    ) -> MarketDataConfig:
        return load_section(cls, SECTION, environ=environ, toml=toml)
