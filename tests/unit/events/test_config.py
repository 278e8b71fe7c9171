"""EventsConfig: defaults, environment and TOML, and bad values named by their key."""

from __future__ import annotations

import pytest

from mesh.config import ConfigError
from mesh.events import EventsConfig


def test_defaults_point_at_a_local_broker() -> None:
    config = EventsConfig.load(environ={}, toml={})
    assert config.bootstrap_servers == "127.0.0.1:9092"
    assert config.consumer_max_attempts >= 1
    assert config.request_timeout_ms == int(config.request_timeout_seconds * 1000)


def test_environment_wins_over_toml() -> None:
    config = EventsConfig.load(
        environ={"TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092"},
        toml={"events": {"bootstrap_servers": "other:9092", "consumer_max_attempts": 3}},
    )
    assert config.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert config.consumer_max_attempts == 3


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("TRADEMESH_EVENTS_BOOTSTRAP_SERVERS", "no-port", "host:port"),
        ("TRADEMESH_EVENTS_BOOTSTRAP_SERVERS", "", "host:port"),
        ("TRADEMESH_EVENTS_CONSUMER_MAX_ATTEMPTS", "0", "at least 1"),
        ("TRADEMESH_EVENTS_RELAY_POLL_INTERVAL_SECONDS", "-1", "positive"),
        ("TRADEMESH_EVENTS_RELAY_BATCH_SIZE", "many", "not a valid int"),
        ("TRADEMESH_EVENTS_CONSUMER_BACKOFF_MAX_SECONDS", "0.01", "at least"),
    ],
)
def test_bad_values_name_their_key(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        EventsConfig.load(environ={key: value}, toml={})
    assert key in str(caught.value)
    assert message in str(caught.value)


def test_unknown_toml_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="bootstrap"):
        EventsConfig.load(environ={}, toml={"events": {"bootstrap": "x:1"}})
