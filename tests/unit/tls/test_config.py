"""TlsConfig validation and file layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.tls import TlsConfig


def test_layout_under_state_dir(tmp_path: Path) -> None:
    config = TlsConfig.for_state_dir(tmp_path)
    assert config.ca_cert_path == tmp_path / "tls" / "ca.pem"
    assert config.ca_key_path == tmp_path / "tls" / "ca-key.pem"
    assert config.leaf_cert_path("trading") == tmp_path / "tls" / "services" / "trading.pem"
    assert config.leaf_key_path("trading") == tmp_path / "tls" / "services" / "trading-key.pem"


def test_leaf_paths_refuse_names_that_escape_the_directory(tmp_path: Path) -> None:
    config = TlsConfig(tmp_path)
    with pytest.raises(ValueError, match="invalid service name"):
        config.leaf_cert_path("../ca")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"leaf_validity_seconds": 0}, "leaf_validity_seconds"),
        ({"leaf_validity_seconds": -5.0}, "leaf_validity_seconds"),
        ({"ca_validity_seconds": 0}, "ca_validity_seconds"),
        ({"renew_before_seconds": -1}, "renew_before_seconds"),
        ({"leaf_validity_seconds": 100, "renew_before_seconds": 100}, "renew_before_seconds"),
        ({"extra_ip_addresses": ("not-an-ip",)}, "extra_ip_addresses"),
        ({"extra_dns_names": ("",)}, "extra_dns_names"),
    ],
)
def test_bad_values_fail_naming_the_field(
    tmp_path: Path, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=f"TlsConfig.{field}"):
        TlsConfig(tmp_path, **overrides)  # type: ignore[arg-type]


def test_leaf_may_not_outlive_ca_by_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="leaf_validity_seconds"):
        TlsConfig(
            tmp_path, leaf_validity_seconds=100, renew_before_seconds=1, ca_validity_seconds=50
        )
