from __future__ import annotations

import pytest

from mesh.config import ConfigError
from mesh.infra import InfraConfig


def test_ports_come_from_env() -> None:
    config = InfraConfig.load(
        environ={"TRADEMESH_KAFKA_PORT": "19092", "TRADEMESH_NGINX_EDGE_PORTS": "9001,9002,9003"}
    )
    assert config.kafka.bootstrap_servers == "127.0.0.1:19092"
    assert config.nginx.edge_ports == (9001, 9002, 9003)


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"TRADEMESH_CONSUL_HTTP_PORT": "70000"}, "TRADEMESH_CONSUL_HTTP_PORT"),
        ({"TRADEMESH_KAFKA_HEAP_MB": "4096"}, "TRADEMESH_KAFKA_HEAP_MB"),
        ({"TRADEMESH_NGINX_PORT": "http"}, "TRADEMESH_NGINX_PORT"),
    ],
)
def test_bad_values_fail_with_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        InfraConfig.load(environ=env)
    assert info.value.key == key
