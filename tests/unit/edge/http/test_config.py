"""HTTP settings: defaults that work, and bad values refused naming their key."""

from __future__ import annotations

import pytest

from edge.http.config import SECTION, HttpConfig
from mesh.config import ConfigError, load_section


def test_defaults_limit_bodies_to_one_mebibyte_and_allow_no_cross_origin_calls() -> None:
    config = HttpConfig()
    assert config.max_body_bytes == 1024 * 1024
    assert config.request_timeout_seconds == 30.0
    assert config.cors_origins == ()
    assert config.hsts_max_age_seconds == 0


def test_loaded_from_the_edge_section_of_the_environment() -> None:
    config = load_section(
        HttpConfig,
        SECTION,
        environ={
            "TRADEMESH_EDGE_MAX_BODY_BYTES": "2048",
            "TRADEMESH_EDGE_CORS_ORIGINS": "https://app.example.com,http://localhost:5173",
            "TRADEMESH_EDGE_CORS_CREDENTIALS": "true",
            "TRADEMESH_EDGE_HSTS_MAX_AGE_SECONDS": "31536000",
        },
    )
    assert config.max_body_bytes == 2048
    assert config.cors_origins == ("https://app.example.com", "http://localhost:5173")
    assert config.cors_credentials is True
    assert config.hsts_max_age_seconds == 31536000


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"max_body_bytes": 0}, "TRADEMESH_EDGE_MAX_BODY_BYTES"),
        ({"request_timeout_seconds": -1.0}, "TRADEMESH_EDGE_REQUEST_TIMEOUT_SECONDS"),
        ({"cors_origins": ("https://app.example.com/",)}, "TRADEMESH_EDGE_CORS_ORIGINS"),
        ({"cors_origins": ("app.example.com",)}, "TRADEMESH_EDGE_CORS_ORIGINS"),
        ({"cors_origins": ("*", "https://a.example")}, "TRADEMESH_EDGE_CORS_ORIGINS"),
        ({"cors_origins": ("*",), "cors_credentials": True}, "TRADEMESH_EDGE_CORS_CREDENTIALS"),
        ({"cors_methods": ("GET", "PO ST")}, "TRADEMESH_EDGE_CORS_METHODS"),
        ({"cors_headers": ("X-Ok", "Bad:Header")}, "TRADEMESH_EDGE_CORS_HEADERS"),
        ({"cors_max_age_seconds": -5}, "TRADEMESH_EDGE_CORS_MAX_AGE_SECONDS"),
        ({"hsts_max_age_seconds": -1}, "TRADEMESH_EDGE_HSTS_MAX_AGE_SECONDS"),
        ({"csp": "default-src 'self'\r\nX-Injected: 1"}, "TRADEMESH_EDGE_CSP"),
        ({"csp": " "}, "TRADEMESH_EDGE_CSP"),
    ],
)
def test_bad_values_are_refused_naming_their_key(changes: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        HttpConfig(**changes)  # type: ignore[arg-type]
    assert raised.value.key == key


def test_a_malformed_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        load_section(HttpConfig, SECTION, environ={"TRADEMESH_EDGE_MAX_BODY_BYTES": "1MB"})
    assert raised.value.key == "TRADEMESH_EDGE_MAX_BODY_BYTES"
