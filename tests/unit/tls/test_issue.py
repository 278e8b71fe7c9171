"""Service leaf certificates: contents, chaining to the CA, automatic reissue."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509 import DNSName
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store

from mesh.tls import MeshCA, TlsConfig, ensure_leaf, load_or_create_ca, reissue_reason

from .conftest import FakeClock

DAY = 86_400.0


@pytest.fixture
def ca(tls_config: TlsConfig, clock: FakeClock) -> MeshCA:
    return load_or_create_ca(tls_config, now=clock)


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)


def test_leaf_names_the_service(tls_config: TlsConfig, ca: MeshCA, clock: FakeClock) -> None:
    leaf = ensure_leaf(tls_config, ca, "trading", now=clock)
    sans = leaf.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://trademesh/trading"
    ]
    assert sorted(sans.get_values_for_type(x509.DNSName)) == ["localhost", "trading"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    eku = leaf.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not leaf.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = leaf.not_valid_after - _utc(clock())
    # Certificates keep whole seconds.
    expected = dt.timedelta(seconds=tls_config.leaf_validity_seconds)
    assert abs(lifetime - expected) < dt.timedelta(seconds=1)


def test_leaf_chains_to_the_ca_as_server_and_client(
    tls_config: TlsConfig, ca: MeshCA, clock: FakeClock
) -> None:
    leaf = ensure_leaf(tls_config, ca, "trading", now=clock)
    builder = PolicyBuilder().store(Store([ca.certificate])).time(_utc(clock()))

    server_chain = builder.build_server_verifier(DNSName("trading")).verify(leaf.certificate, [])
    assert server_chain[-1] == ca.certificate

    verified = builder.build_client_verifier().verify(leaf.certificate, [])
    assert verified.chain[-1] == ca.certificate
    assert x509.UniformResourceIdentifier("spiffe://trademesh/trading") in (verified.subjects or [])


def test_leaf_files_and_permissions(tls_config: TlsConfig, ca: MeshCA, clock: FakeClock) -> None:
    ensure_leaf(tls_config, ca, "trading", now=clock)
    assert stat.S_IMODE(tls_config.leaf_key_path("trading").stat().st_mode) == 0o600
    assert tls_config.leaf_cert_path("trading").read_bytes().startswith(b"-----BEGIN CERTIFICATE")


def test_fit_leaf_is_reused(tls_config: TlsConfig, ca: MeshCA, clock: FakeClock) -> None:
    first = ensure_leaf(tls_config, ca, "trading", now=clock)
    clock.advance(DAY)
    second = ensure_leaf(tls_config, ca, "trading", now=clock)
    assert second.certificate.serial_number == first.certificate.serial_number


def test_missing_leaf_is_reissued(tls_config: TlsConfig, ca: MeshCA, clock: FakeClock) -> None:
    first = ensure_leaf(tls_config, ca, "trading", now=clock)
    tls_config.leaf_cert_path("trading").unlink()
    second = ensure_leaf(tls_config, ca, "trading", now=clock)
    assert second.certificate.serial_number != first.certificate.serial_number
    assert tls_config.leaf_cert_path("trading").exists()


def test_corrupt_leaf_is_reissued(tls_config: TlsConfig, ca: MeshCA, clock: FakeClock) -> None:
    first = ensure_leaf(tls_config, ca, "trading", now=clock)
    tls_config.leaf_key_path("trading").write_bytes(b"garbage")
    second = ensure_leaf(tls_config, ca, "trading", now=clock)
    assert second.certificate.serial_number != first.certificate.serial_number


def test_expired_leaf_is_reissued(tls_config: TlsConfig, ca: MeshCA, clock: FakeClock) -> None:
    first = ensure_leaf(tls_config, ca, "trading", now=clock)
    clock.advance(tls_config.leaf_validity_seconds + DAY)
    assert reissue_reason(first, ca, "trading", config=tls_config, now=clock()) is not None

    second = ensure_leaf(tls_config, ca, "trading", now=clock)

    assert second.certificate.serial_number != first.certificate.serial_number
    assert second.not_valid_after > _utc(clock())


def test_leaf_is_renewed_inside_the_renewal_window(
    tls_config: TlsConfig, ca: MeshCA, clock: FakeClock
) -> None:
    first = ensure_leaf(tls_config, ca, "trading", now=clock)
    window_start = tls_config.leaf_validity_seconds - tls_config.renew_before_seconds
    clock.advance(window_start - 60)
    assert ensure_leaf(tls_config, ca, "trading", now=clock).certificate == first.certificate
    clock.advance(120)
    renewed = ensure_leaf(tls_config, ca, "trading", now=clock)
    assert renewed.certificate.serial_number != first.certificate.serial_number


def test_leaf_from_a_foreign_ca_is_reissued(
    tls_config: TlsConfig, ca: MeshCA, clock: FakeClock, tmp_path: Path
) -> None:
    foreign_ca = load_or_create_ca(TlsConfig(tmp_path / "foreign"), now=clock)
    foreign_leaf = ensure_leaf(tls_config, foreign_ca, "trading", now=clock)
    assert reissue_reason(foreign_leaf, ca, "trading", config=tls_config, now=clock()) == (
        "not signed by the current mesh CA"
    )

    leaf = ensure_leaf(tls_config, ca, "trading", now=clock)

    assert leaf.certificate.serial_number != foreign_leaf.certificate.serial_number
    leaf.certificate.verify_directly_issued_by(ca.certificate)


def test_changed_names_cause_reissue(tls_config: TlsConfig, ca: MeshCA, clock: FakeClock) -> None:
    first = ensure_leaf(tls_config, ca, "trading", now=clock)
    wider = replace(tls_config, extra_dns_names=("trading.internal",), extra_ip_addresses=("::1",))
    second = ensure_leaf(wider, ca, "trading", now=clock)
    assert second.certificate.serial_number != first.certificate.serial_number
    sans = second.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "trading.internal" in sans.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("::1") in sans.get_values_for_type(x509.IPAddress)


def test_leaf_never_outlives_the_ca(tmp_path: Path, clock: FakeClock) -> None:
    config = TlsConfig(
        tmp_path,
        ca_validity_seconds=40 * DAY,
        leaf_validity_seconds=30 * DAY,
        renew_before_seconds=5 * DAY,
    )
    ca = load_or_create_ca(config, now=clock)
    clock.advance(20 * DAY)
    leaf = ensure_leaf(config, ca, "trading", now=clock)
    assert leaf.not_valid_after == ca.certificate.not_valid_after_utc
