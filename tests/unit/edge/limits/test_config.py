"""RateLimitConfig: `TRADEMESH_EDGE_LIMITS_*` and `[edge_limits]`, refused naming the key."""

from __future__ import annotations

import pytest

from edge.limits import Rate, RateLimitConfig
from mesh.config import ConfigError, load_section

ROUTES_KEY = "TRADEMESH_EDGE_LIMITS_ROUTES"


def test_defaults_are_valid_and_list_no_routes() -> None:
    config = RateLimitConfig.load(environ={})
    assert config == RateLimitConfig()
    assert config.enabled and dict(config.route_rates) == {}
    assert config.user_rate == Rate(50.0, 100)


def test_routes_from_the_environment_as_the_edge_loads_its_sections() -> None:
    config = load_section(
        RateLimitConfig,
        "edge_limits",
        environ={
            ROUTES_KEY: "post /api/v1/orders=2/5, GET /v1/{name=shelves/*}=10",
            "TRADEMESH_EDGE_LIMITS_USER_BURST": "7",
        },
    )
    assert dict(config.route_rates) == {
        "POST /api/v1/orders": Rate(2.0, 5),
        "GET /v1/{name=shelves/*}": Rate(10.0, 10),
    }
    assert config.user_burst == 7


def test_routes_from_toml() -> None:
    config = RateLimitConfig.load(
        environ={},
        toml={"edge_limits": {"routes": ["DELETE /api/v1/orders/{order_id} = 0.5/2"]}},
    )
    assert dict(config.route_rates) == {"DELETE /api/v1/orders/{order_id}": Rate(0.5, 2)}


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("TRADEMESH_EDGE_LIMITS_USER_REQUESTS_PER_SECOND", "0", "> 0"),
        ("TRADEMESH_EDGE_LIMITS_USER_REQUESTS_PER_SECOND", "nan", "> 0"),
        ("TRADEMESH_EDGE_LIMITS_ANONYMOUS_REQUESTS_PER_SECOND", "-1", "> 0"),
        ("TRADEMESH_EDGE_LIMITS_USER_BURST", "0", ">= 1"),
        ("TRADEMESH_EDGE_LIMITS_ANONYMOUS_BURST", "1.5", "not a valid int"),
        ("TRADEMESH_EDGE_LIMITS_MAX_TRACKED_KEYS", "0", ">= 1"),
        ("TRADEMESH_EDGE_LIMITS_ENABLED", "maybe", "not a valid bool"),
        (ROUTES_KEY, "POST /api/v1/orders", "'POST /api/v1/orders'"),
        (ROUTES_KEY, "FETCH /api/v1/orders=1/2", "method must be one of"),
        (ROUTES_KEY, "POST api/v1/orders=1/2", "must start with '/'"),
        (ROUTES_KEY, "POST /api/v1/orders=0/2", "> 0 and burst >= 1"),
        (ROUTES_KEY, "POST /api/v1/orders=1/0", "> 0 and burst >= 1"),
        (ROUTES_KEY, "POST /api/v1/orders=fast", "METHOD /template=requests_per_second/burst"),
        (ROUTES_KEY, "POST /a=1/2,post /a=2/3", "POST /a is limited twice"),
    ],
)
def test_bad_values_are_refused_naming_the_key(key: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        RateLimitConfig.load(environ={key: value})
    assert info.value.key == key
    assert says in info.value.problem


def test_a_listed_route_the_table_does_not_have_is_refused() -> None:
    config = RateLimitConfig(routes=("POST /api/v1/orders=1/2", "GET /api/v1/stonks=1/2"))
    config.check_routes(["POST /api/v1/orders", "GET /api/v1/stocks", "GET /api/v1/stonks"])
    with pytest.raises(ConfigError) as info:
        config.check_routes(["POST /api/v1/orders", "GET /api/v1/stocks"])
    assert info.value.key == ROUTES_KEY
    assert "GET /api/v1/stonks" in info.value.problem


def test_one_string_is_not_a_list_of_routes() -> None:
    with pytest.raises(ConfigError, match="list of route limits"):
        RateLimitConfig(routes="POST /a=1/2")  # type: ignore[arg-type]
