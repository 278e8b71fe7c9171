"""EdgeAuthConfig: `TRADEMESH_EDGE_AUTH_*` and `[edge_auth]`, refused naming the key."""

from __future__ import annotations

import pytest

from edge.auth import EdgeAuthConfig
from mesh.config import ConfigError


def test_defaults_and_values_from_env_and_toml() -> None:
    assert EdgeAuthConfig.load(environ={}) == EdgeAuthConfig()
    config = EdgeAuthConfig.load(
        environ={"TRADEMESH_EDGE_AUTH_CACHE_MAX_ENTRIES": "50"},
        toml={"edge_auth": {"cache_max_age_seconds": 30}},
    )
    assert (config.cache_max_entries, config.cache_max_age_seconds) == (50, 30.0)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TRADEMESH_EDGE_AUTH_CACHE_MAX_ENTRIES", "0"),
        ("TRADEMESH_EDGE_AUTH_CACHE_MAX_ENTRIES", "many"),
        ("TRADEMESH_EDGE_AUTH_CACHE_MAX_AGE_SECONDS", "-1"),
        ("TRADEMESH_EDGE_AUTH_CACHE_MAX_AGE_SECONDS", "0"),
    ],
)
def test_bad_values_are_refused_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        EdgeAuthConfig.load(environ={key: value})
    assert info.value.key == key


def test_an_unknown_toml_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="cache_size"):
        EdgeAuthConfig.load(environ={}, toml={"edge_auth": {"cache_size": 5}})
