"""Discovery settings: defaults, environment, and bad values refused by key."""

from __future__ import annotations

import pytest

from edge.discovery.config import DiscoveryConfig
from mesh.config import ConfigError


def test_defaults() -> None:
    config = DiscoveryConfig()
    assert (config.enabled, config.refresh_seconds, config.fetch_timeout_seconds) == (
        True,
        30.0,
        5.0,
    )


def test_read_from_the_environment_over_the_file() -> None:
    config = DiscoveryConfig.load(
        environ={"TRADEMESH_EDGE_DISCOVERY_REFRESH_SECONDS": "2.5"},
        toml={"edge_discovery": {"refresh_seconds": 9, "enabled": False}},
    )
    assert config.refresh_seconds == 2.5
    assert config.enabled is False


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("refresh_seconds", 0.0, "TRADEMESH_EDGE_DISCOVERY_REFRESH_SECONDS"),
        ("refresh_seconds", float("nan"), "TRADEMESH_EDGE_DISCOVERY_REFRESH_SECONDS"),
        ("fetch_timeout_seconds", -1.0, "TRADEMESH_EDGE_DISCOVERY_FETCH_TIMEOUT_SECONDS"),
        ("fetch_timeout_seconds", 301.0, "TRADEMESH_EDGE_DISCOVERY_FETCH_TIMEOUT_SECONDS"),
        ("consul_wait_seconds", 0.5, "TRADEMESH_EDGE_DISCOVERY_CONSUL_WAIT_SECONDS"),
    ],
)
def test_bad_values_are_refused_naming_the_key(field: str, value: float, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        DiscoveryConfig(**{field: value})
    assert info.value.key == key


def test_a_bad_value_from_the_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="TRADEMESH_EDGE_DISCOVERY_ENABLED"):
        DiscoveryConfig.load(environ={"TRADEMESH_EDGE_DISCOVERY_ENABLED": "maybe"})
