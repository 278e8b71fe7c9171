"""Service names and SPIFFE IDs."""

from __future__ import annotations

import pytest

from mesh.tls import service_name_from_spiffe_id, spiffe_id, validate_service_name


def test_spiffe_id_round_trip() -> None:
    assert spiffe_id("trading") == "spiffe://trademesh/trading"
    assert service_name_from_spiffe_id("spiffe://trademesh/trading") == "trading"


@pytest.mark.parametrize(
    "uri",
    [
        "spiffe://other/trading",
        "spiffe://trademesh/",
        "spiffe://trademesh/trading/extra",
        "spiffe://trademesh/Trading",
        "https://trademesh/trading",
    ],
)
def test_foreign_or_malformed_ids_name_no_service(uri: str) -> None:
    assert service_name_from_spiffe_id(uri) is None


@pytest.mark.parametrize("name", ["", "Trading", "-edge", "edge-", "a/b", "a.b", "x" * 64])
def test_invalid_service_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="invalid service name"):
        validate_service_name(name)
