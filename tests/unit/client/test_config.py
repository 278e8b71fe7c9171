"""ClientConfig and load_client_config: bad values name their TRADEMESH_CLIENT_* key, the
balancer per upstream, and [retry]/[breaker]/[bulkhead] read from TOML and the environment
as top-level sections (never nested under [client])."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.client.config import ClientConfig, load_client_config
from mesh.config import ConfigError
from mesh.resilience.config import BreakerConfig, BulkheadConfig, RetryConfig


@pytest.mark.parametrize(
    ("key", "values"),
    [
        ("TRADEMESH_CLIENT_DEFAULT_TIMEOUT_SECONDS", {"default_timeout_seconds": 0.0}),
        ("TRADEMESH_CLIENT_DISCOVERY_WAIT_SECONDS", {"discovery_wait_seconds": 0.5}),
        ("TRADEMESH_CLIENT_DISCOVERY_WAIT_SECONDS", {"discovery_wait_seconds": 301.0}),
        ("TRADEMESH_CLIENT_CONSUL_ADDRESS", {"consul_address": "127.0.0.1:8500"}),
        ("TRADEMESH_CLIENT_BALANCER", {"balancer": "random"}),
        ("TRADEMESH_CLIENT_BALANCERS", {"balancers": ("marketdata=fastest",)}),
        ("TRADEMESH_CLIENT_BALANCERS", {"balancers": ("marketdata",)}),
        ("TRADEMESH_CLIENT_BALANCERS", {"balancers": ("=peak_ewma",)}),
    ],
)
def test_a_bad_value_names_its_key(key: str, values: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as raised:
        ClientConfig(**values)
    assert raised.value.key == key
    (value,) = values.values()
    environ = {key: ",".join(value) if isinstance(value, tuple) else str(value)}
    with pytest.raises(ConfigError) as raised:
        load_client_config({}, environ=environ)
    assert raised.value.key == key


def test_balancer_for_each_upstream() -> None:
    config = ClientConfig(
        balancer="least_request", balancers=("marketdata=peak_ewma", " trading = round_robin ")
    )
    assert config.balancer_for("marketdata") == "peak_ewma"
    assert config.balancer_for("trading") == "round_robin"
    assert config.balancer_for("portfolio") == "least_request"
    assert ClientConfig().balancer_for("marketdata") == "round_robin"


def test_defaults() -> None:
    config = load_client_config({}, environ={})
    assert config == ClientConfig()
    assert (config.retry, config.breaker, config.bulkhead) == (
        RetryConfig(),
        BreakerConfig(),
        BulkheadConfig(),
    )


def test_sections_from_toml() -> None:
    toml = {
        "client": {"balancer": "peak_ewma", "balancers": ["trading=least_request"]},
        "retry": {"max_attempts": 5, "methods": ["pkg.S/M=1", "pkg.S=4"]},
        "breaker": {"consecutive_failures": 3, "max_ejected_share": 0.34},
        "bulkhead": {"max_concurrent_calls": 7},
    }
    config = load_client_config(toml, environ={})
    assert config.balancer_for("trading") == "least_request"
    assert config.balancer_for("marketdata") == "peak_ewma"
    assert config.retry.max_attempts == 5
    assert config.retry.attempts_for("/pkg.S/M") == 1
    assert config.retry.attempts_for("/pkg.S/N") == 4
    assert config.retry.attempts_for("/pkg.T/N") == 5
    assert (config.breaker.consecutive_failures, config.breaker.max_ejected_share) == (3, 0.34)
    assert config.bulkhead.max_concurrent_calls == 7
    assert config.bulkhead.max_concurrent_streams == 10000


def test_the_environment_wins_over_toml() -> None:
    toml = {"retry": {"max_attempts": 5}, "breaker": {"half_open_probes": 2}}
    environ = {
        "TRADEMESH_RETRY_MAX_ATTEMPTS": "2",
        "TRADEMESH_RETRY_METHODS": "pkg.S=1",
        "TRADEMESH_BREAKER_HALF_OPEN_PROBES": "3",
        "TRADEMESH_BULKHEAD_MAX_CONCURRENT_STREAMS": "50",
        "TRADEMESH_CLIENT_BALANCER": "least_request",
    }
    config = load_client_config(toml, environ=environ)
    assert config.retry.max_attempts == 2
    assert config.retry.attempts_for("/pkg.S/M") == 1
    assert config.breaker.half_open_probes == 3
    assert config.bulkhead.max_concurrent_streams == 50
    assert config.balancer == "least_request"


@pytest.mark.parametrize("section", ["retry", "breaker", "bulkhead"])
def test_a_section_nested_under_client_is_refused(section: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_client_config({"client": {section: {"max_attempts": 2}}}, environ={})
    assert raised.value.key == f"[client] {section}"
    with pytest.raises(ConfigError):
        load_client_config({"client": {section: 3}}, environ={})


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("TRADEMESH_RETRY_MAX_ATTEMPTS", "0"),
        ("TRADEMESH_RETRY_METHODS", "pkg.S/M=zero"),
        ("TRADEMESH_BREAKER_FAILURE_RATE", "2"),
        ("TRADEMESH_BREAKER_MAX_EJECTED_SHARE", "-1"),
        ("TRADEMESH_BULKHEAD_MAX_CONCURRENT_CALLS", "0"),
        ("TRADEMESH_BULKHEAD_MAX_CONCURRENT_STREAMS", "many"),
    ],
)
def test_a_bad_section_value_from_the_environment_names_its_key(key: str, raw: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_client_config({}, environ={key: raw})
    assert raised.value.key == key


def test_an_unknown_key_in_a_section_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        load_client_config({"breaker": {"consecutive_failure": 3}}, environ={})
    assert raised.value.key == "[breaker] consecutive_failure"


def test_overrides_win_for_the_client_section() -> None:
    config = load_client_config(
        {"client": {"balancer": "peak_ewma"}},
        environ={"TRADEMESH_CLIENT_BALANCER": "least_request"},
        overrides={"balancer": "round_robin"},
    )
    assert config.balancer == "round_robin"
