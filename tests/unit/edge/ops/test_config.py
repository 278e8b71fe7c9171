"""Ops settings: bad values refused naming their key."""

from __future__ import annotations

import pytest

from edge.ops.config import SECTION, OpsConfig
from mesh.config import ConfigError, load_section


def test_loaded_from_the_edge_section() -> None:
    config = load_section(
        OpsConfig,
        SECTION,
        environ={
            "TRADEMESH_EDGE_HEALTH_SERVICES": "identity,trading",
            "TRADEMESH_EDGE_HEALTH_CACHE_SECONDS": "0.5",
        },
    )
    assert config.health_services == ("identity", "trading")
    assert config.health_cache_seconds == 0.5


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"health_services": ("trading", "../v1/kv")}, "TRADEMESH_EDGE_HEALTH_SERVICES"),
        ({"health_cache_seconds": -1.0}, "TRADEMESH_EDGE_HEALTH_CACHE_SECONDS"),
        ({"health_consul_timeout_seconds": 0.0}, "TRADEMESH_EDGE_HEALTH_CONSUL_TIMEOUT_SECONDS"),
    ],
)
def test_bad_values_name_their_key(changes: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        OpsConfig(**changes)  # type: ignore[arg-type]
    assert raised.value.key == key
