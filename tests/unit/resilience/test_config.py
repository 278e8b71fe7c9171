"""[retry], [breaker] and [bulkhead]: defaults, every bad value a ConfigError naming its
TRADEMESH_* key (built directly and through the environment), and per-method attempts."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.config import ConfigError, load_section
from mesh.resilience.config import BreakerConfig, BulkheadConfig, RetryConfig, parse_overrides


def test_defaults() -> None:
    retry, breaker, bulkhead = RetryConfig(), BreakerConfig(), BulkheadConfig()
    assert (retry.max_attempts, retry.base_seconds, retry.cap_seconds) == (3, 0.05, 2.0)
    assert (retry.budget_ratio, retry.budget_min_retries_per_second) == (0.2, 1.0)
    assert retry.budget_window_seconds == 10.0
    assert breaker == BreakerConfig(
        consecutive_failures=5,
        failure_rate=0.5,
        minimum_calls=20,
        window_seconds=10.0,
        base_ejection_seconds=30.0,
        max_ejection_seconds=300.0,
        max_ejected_share=0.5,
        half_open_probes=1,
    )
    assert (bulkhead.max_concurrent_calls, bulkhead.max_concurrent_streams) == (1000, 10000)


BAD: list[tuple[type[Any], str, dict[str, Any]]] = [
    (RetryConfig, "max_attempts", {"max_attempts": 0}),
    (RetryConfig, "max_attempts", {"max_attempts": 11}),
    (RetryConfig, "base_seconds", {"base_seconds": 0.0}),
    (RetryConfig, "base_seconds", {"base_seconds": -1.0}),
    (RetryConfig, "cap_seconds", {"cap_seconds": 0.01}),
    (RetryConfig, "budget_ratio", {"budget_ratio": -0.1}),
    (RetryConfig, "budget_ratio", {"budget_ratio": 1.5}),
    (RetryConfig, "budget_min_retries_per_second", {"budget_min_retries_per_second": -1.0}),
    (RetryConfig, "budget_window_seconds", {"budget_window_seconds": 0.5}),
    (RetryConfig, "budget_window_seconds", {"budget_window_seconds": 601.0}),
    (RetryConfig, "methods", {"methods": ("pkg.S/M",)}),
    (RetryConfig, "methods", {"methods": ("pkg.S/M=",)}),
    (RetryConfig, "methods", {"methods": ("=3",)}),
    (RetryConfig, "methods", {"methods": ("pkg.S/M=two",)}),
    (RetryConfig, "methods", {"methods": ("pkg.S/M=1.5",)}),
    (RetryConfig, "methods", {"methods": ("pkg.S/M=0",)}),
    (RetryConfig, "methods", {"methods": ("pkg.S=11",)}),
    (BreakerConfig, "consecutive_failures", {"consecutive_failures": 0}),
    (BreakerConfig, "failure_rate", {"failure_rate": 0.0}),
    (BreakerConfig, "failure_rate", {"failure_rate": 1.1}),
    (BreakerConfig, "minimum_calls", {"minimum_calls": 0}),
    (BreakerConfig, "window_seconds", {"window_seconds": 0.5}),
    (BreakerConfig, "window_seconds", {"window_seconds": 601.0}),
    (BreakerConfig, "base_ejection_seconds", {"base_ejection_seconds": 0.0}),
    (BreakerConfig, "max_ejection_seconds", {"max_ejection_seconds": 10.0}),
    (BreakerConfig, "max_ejected_share", {"max_ejected_share": -0.1}),
    (BreakerConfig, "max_ejected_share", {"max_ejected_share": 1.1}),
    (BreakerConfig, "half_open_probes", {"half_open_probes": 0}),
    (BulkheadConfig, "max_concurrent_calls", {"max_concurrent_calls": 0}),
    (BulkheadConfig, "max_concurrent_streams", {"max_concurrent_streams": 0}),
]

SECTIONS = {RetryConfig: "retry", BreakerConfig: "breaker", BulkheadConfig: "bulkhead"}


@pytest.mark.parametrize(("cls", "field", "values"), BAD)
def test_a_bad_value_names_its_key(cls: type[Any], field: str, values: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as raised:
        cls(**values)
    assert raised.value.key == f"TRADEMESH_{SECTIONS[cls]}_{field}".upper()


@pytest.mark.parametrize(("cls", "field", "values"), BAD)
def test_a_bad_value_from_the_environment_names_its_key(
    cls: type[Any], field: str, values: dict[str, Any]
) -> None:
    key = f"TRADEMESH_{SECTIONS[cls]}_{field}".upper()
    value = values[field]
    raw = ",".join(value) if isinstance(value, tuple) else str(value)
    with pytest.raises(ConfigError) as raised:
        load_section(cls, SECTIONS[cls], environ={key: raw}, toml={})
    assert raised.value.key == key


def test_a_value_that_is_not_a_number_names_its_key() -> None:
    with pytest.raises(ConfigError) as raised:
        load_section(RetryConfig, "retry", environ={"TRADEMESH_RETRY_MAX_ATTEMPTS": "x"})
    assert raised.value.key == "TRADEMESH_RETRY_MAX_ATTEMPTS"


def test_boundaries_are_accepted() -> None:
    RetryConfig(max_attempts=1, budget_ratio=0.0, budget_min_retries_per_second=0.0)
    RetryConfig(max_attempts=10, budget_ratio=1.0, cap_seconds=0.05, budget_window_seconds=600)
    BreakerConfig(failure_rate=1.0, max_ejected_share=0.0, max_ejection_seconds=30.0)
    BreakerConfig(max_ejected_share=1.0, window_seconds=1.0)


def test_attempts_default_to_max_attempts() -> None:
    config = RetryConfig(max_attempts=4)
    assert config.attempts_for("/trademesh.marketdata.v1.MarketDataService/GetQuote") == 4


def test_attempts_per_method_and_per_service() -> None:
    config = RetryConfig(
        methods=(
            "trademesh.marketdata.v1.MarketDataService=5",
            " trademesh.trading.v1.TradingService/PlaceOrder = 1 ",
            "trademesh.marketdata.v1.MarketDataService/GetQuote=2",
        )
    )
    market = "trademesh.marketdata.v1.MarketDataService"
    assert config.attempts_for(f"/{market}/GetQuote") == 2  # the method beats its service
    assert config.attempts_for(f"{market}/GetQuote") == 2
    assert config.attempts_for(f"/{market}/GetQuotes") == 5
    assert config.attempts_for("/trademesh.trading.v1.TradingService/PlaceOrder") == 1
    assert config.attempts_for("/trademesh.trading.v1.TradingService/CancelOrder") == 3


def test_the_method_beats_its_service_in_either_order() -> None:
    first = RetryConfig(methods=("pkg.S/M=1", "pkg.S=4"))
    second = RetryConfig(methods=("pkg.S=4", "pkg.S/M=1"))
    for config in (first, second):
        assert config.attempts_for("/pkg.S/M") == 1
        assert config.attempts_for("/pkg.S/N") == 4


def test_methods_from_the_environment() -> None:
    config = load_section(
        RetryConfig,
        "retry",
        environ={"TRADEMESH_RETRY_METHODS": "pkg.S/M=1,pkg.S=5"},
        toml={"retry": {"methods": ["pkg.T=2"]}},
    )
    assert config.methods == ("pkg.S/M=1", "pkg.S=5")
    assert config.attempts_for("/pkg.S/M") == 1
    assert config.attempts_for("/pkg.T/M") == 3


def test_methods_from_toml() -> None:
    config = load_section(
        RetryConfig, "retry", environ={}, toml={"retry": {"methods": ["pkg.T=2"]}}
    )
    assert config.attempts_for("/pkg.T/M") == 2


def test_parse_overrides() -> None:
    assert parse_overrides(("a=1", "b = x"), "K") == {"a": "1", "b": "x"}
    assert parse_overrides(("a=1",), "K", int) == {"a": 1}
    with pytest.raises(ConfigError) as raised:
        parse_overrides(("a",), "K")
    assert raised.value.key == "K"
