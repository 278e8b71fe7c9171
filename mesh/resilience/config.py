"""Settings of retries, circuit breakers and bulkheads (`[retry]`, `[breaker]`, `[bulkhead]`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from mesh.config import ConfigError


def _key(section: str, name: str) -> str:
    return f"TRADEMESH_{section}_{name}".upper()


def parse_overrides(
    entries: tuple[str, ...], key: str, convert: type[int] | type[str] = str
) -> dict[str, object]:
    """`("a=1", "b=2")` → `{"a": 1, "b": 2}`; a malformed entry is a ConfigError naming it."""
    table: dict[str, object] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ConfigError(key, f"{entry!r} is not of the form name=value")
        try:
            table[name] = convert(value)
        except ValueError:
            why = f"{entry!r}: {value!r} is not a valid {convert.__name__}"
            raise ConfigError(key, why) from None
    return table


@dataclass(frozen=True)
class RetryConfig:
    """Retries of retry-safe calls on another instance. `methods` overrides `max_attempts`
    per method or service: `"trademesh.trading.v1.TradingService/PlaceOrder=1"` (1: never
    retried) or `"trademesh.marketdata.v1.MarketDataService=5"`; a method entry beats its
    service's. The budget lets retries be at most `budget_ratio` of the requests to an
    upstream over `budget_window_seconds`, or `budget_min_retries_per_second` on average
    when that is more."""

    max_attempts: int = 3
    base_seconds: float = 0.05
    cap_seconds: float = 2.0
    budget_ratio: float = 0.2
    budget_min_retries_per_second: float = 1.0
    budget_window_seconds: float = 10.0
    methods: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 10:
            raise ConfigError(_key("retry", "max_attempts"), "must be in 1..10")
        if self.base_seconds <= 0:
            raise ConfigError(_key("retry", "base_seconds"), "must be > 0")
        if self.cap_seconds < self.base_seconds:
            raise ConfigError(_key("retry", "cap_seconds"), "must be >= base_seconds")
        if not 0 <= self.budget_ratio <= 1:
            raise ConfigError(_key("retry", "budget_ratio"), "must be in 0..1")
        if self.budget_min_retries_per_second < 0:
            raise ConfigError(_key("retry", "budget_min_retries_per_second"), "must be >= 0")
        if not 1 <= self.budget_window_seconds <= 600:
            raise ConfigError(_key("retry", "budget_window_seconds"), "must be in 1..600")
        for name, value in self._attempts.items():
            if not 1 <= value <= 10:
                raise ConfigError(_key("retry", "methods"), f"{name}: attempts must be in 1..10")

    @cached_property
    def _attempts(self) -> dict[str, int]:
        table = parse_overrides(self.methods, _key("retry", "methods"), int)
        return {name: int(str(value)) for name, value in table.items()}

    def attempts_for(self, full_method: str) -> int:
        """Attempts for `/pkg.Service/Method` (the gRPC path) or `pkg.Service/Method`."""
        name = full_method.lstrip("/")
        found = self._attempts.get(name)
        if found is None:
            found = self._attempts.get(name.partition("/")[0], self.max_attempts)
        return found


@dataclass(frozen=True)
class BreakerConfig:
    """A breaker per upstream instance opens after `consecutive_failures` failures in a row,
    or when at least `minimum_calls` calls over `window_seconds` failed at `failure_rate` or
    more. It stays open `base_ejection_seconds` times the times it opened in a row (at most
    `max_ejection_seconds`), then lets `half_open_probes` calls through: their success closes
    it, a failure opens it again for longer. At most `max_ejected_share` of an upstream's
    instances are ejected at once."""

    consecutive_failures: int = 5
    failure_rate: float = 0.5
    minimum_calls: int = 20
    window_seconds: float = 10.0
    base_ejection_seconds: float = 30.0
    max_ejection_seconds: float = 300.0
    max_ejected_share: float = 0.5
    half_open_probes: int = 1

    def __post_init__(self) -> None:
        if self.consecutive_failures < 1:
            raise ConfigError(_key("breaker", "consecutive_failures"), "must be >= 1")
        if not 0 < self.failure_rate <= 1:
            raise ConfigError(_key("breaker", "failure_rate"), "must be in (0, 1]")
        if self.minimum_calls < 1:
            raise ConfigError(_key("breaker", "minimum_calls"), "must be >= 1")
        if not 1 <= self.window_seconds <= 600:
            raise ConfigError(_key("breaker", "window_seconds"), "must be in 1..600")
        if self.base_ejection_seconds <= 0:
            raise ConfigError(_key("breaker", "base_ejection_seconds"), "must be > 0")
        if self.max_ejection_seconds < self.base_ejection_seconds:
            raise ConfigError(
                _key("breaker", "max_ejection_seconds"), "must be >= base_ejection_seconds"
            )
        if not 0 <= self.max_ejected_share <= 1:
            raise ConfigError(_key("breaker", "max_ejected_share"), "must be in 0..1")
        if self.half_open_probes < 1:
            raise ConfigError(_key("breaker", "half_open_probes"), "must be >= 1")


@dataclass(frozen=True)
class BulkheadConfig:
    """Caps on the calls in flight from this process to each upstream service: unary calls
    and streams apart, since a stream may stay open for hours."""

    max_concurrent_calls: int = 1000
    max_concurrent_streams: int = 10000

    def __post_init__(self) -> None:
        if self.max_concurrent_calls < 1:
            raise ConfigError(_key("bulkhead", "max_concurrent_calls"), "must be >= 1")
        if self.max_concurrent_streams < 1:
            raise ConfigError(_key("bulkhead", "max_concurrent_streams"), "must be >= 1")
