"""RealtimeConfig: defaults valid, bad values refused naming the key, read from the env."""

from __future__ import annotations

import pytest

from edge.realtime import RealtimeConfig, load_realtime_config
from mesh.config import ConfigError


def test_the_defaults_are_valid() -> None:
    config = RealtimeConfig()
    assert config.buffer_size > 0
    assert config.retry_cap_seconds >= config.retry_base_seconds


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"buffer_size": 0}, "TRADEMESH_EDGE_REALTIME_BUFFER_SIZE"),
        ({"max_rooms_per_client": 0}, "TRADEMESH_EDGE_REALTIME_MAX_ROOMS_PER_CLIENT"),
        ({"accept_window_seconds": 0}, "TRADEMESH_EDGE_REALTIME_ACCEPT_WINDOW_SECONDS"),
        ({"retry_base_seconds": -1}, "TRADEMESH_EDGE_REALTIME_RETRY_BASE_SECONDS"),
        ({"retry_cap_seconds": 0.01}, "TRADEMESH_EDGE_REALTIME_RETRY_CAP_SECONDS"),
        ({"cors_origins": ("example.com",)}, "TRADEMESH_EDGE_REALTIME_CORS_ORIGINS"),
        ({"ping_interval_seconds": 0}, "TRADEMESH_EDGE_REALTIME_PING_INTERVAL_SECONDS"),
        ({"socketio_path": "/socket.io"}, "TRADEMESH_EDGE_REALTIME_SOCKETIO_PATH"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(changes: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        RealtimeConfig(**changes)  # type: ignore[arg-type]
    assert refused.value.key == key


def test_values_come_from_the_environment() -> None:
    config = load_realtime_config(
        environ={
            "TRADEMESH_EDGE_REALTIME_BUFFER_SIZE": "32",
            "TRADEMESH_EDGE_REALTIME_CORS_ORIGINS": "https://a.example,https://b.example",
        }
    )
    assert config.buffer_size == 32
    assert config.cors_origins == ("https://a.example", "https://b.example")
    with pytest.raises(ConfigError) as refused:
        load_realtime_config(environ={"TRADEMESH_EDGE_REALTIME_BUFFER_SIZE": "lots"})
    assert refused.value.key == "TRADEMESH_EDGE_REALTIME_BUFFER_SIZE"
