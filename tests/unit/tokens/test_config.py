"""TokenConfig defaults and validation."""

from __future__ import annotations

import pytest

from mesh.tokens import TokenConfig


def test_defaults_match_the_design() -> None:
    config = TokenConfig()
    assert config.access_ttl_seconds == 15 * 60
    assert config.refresh_ttl_seconds == 7 * 24 * 3600
    assert config.key_retention_seconds == 7 * 24 * 3600 + config.leeway_seconds


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"issuer": ""}, "issuer"),
        ({"issuer": "   "}, "issuer"),
        ({"audience": ""}, "audience"),
        ({"audience": None}, "audience"),
        ({"access_ttl_seconds": 0}, "access_ttl_seconds"),
        ({"access_ttl_seconds": -1}, "access_ttl_seconds"),
        ({"access_ttl_seconds": "900"}, "access_ttl_seconds"),
        ({"access_ttl_seconds": True}, "access_ttl_seconds"),
        ({"refresh_ttl_seconds": 0}, "refresh_ttl_seconds"),
        ({"refresh_ttl_seconds": 60}, "refresh_ttl_seconds"),
        ({"leeway_seconds": -1}, "leeway_seconds"),
        ({"leeway_seconds": 900}, "leeway_seconds"),
    ],
)
def test_bad_values_fail_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"TokenConfig.{field}"):
        TokenConfig(**overrides)  # type: ignore[arg-type]


def test_zero_leeway_is_allowed() -> None:
    assert TokenConfig(leeway_seconds=0).leeway_seconds == 0
