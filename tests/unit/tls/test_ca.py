"""The mesh CA: created once, reused, safe to create from racing processes."""

from __future__ import annotations

import multiprocessing
import stat
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from mesh.tls import TlsConfig, TlsError, load_or_create_ca

from .conftest import FakeClock


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_once_then_loaded(tls_config: TlsConfig) -> None:
    first = load_or_create_ca(tls_config)
    cert_stat = tls_config.ca_cert_path.stat()
    key_stat = tls_config.ca_key_path.stat()

    second = load_or_create_ca(tls_config)

    assert second.fingerprint_sha256 == first.fingerprint_sha256
    assert second.private_key.private_numbers() == first.private_key.private_numbers()
    # Loading rewrote nothing.
    assert tls_config.ca_cert_path.stat().st_ino == cert_stat.st_ino
    assert tls_config.ca_key_path.stat().st_mtime_ns == key_stat.st_mtime_ns


def test_files_and_permissions(tls_config: TlsConfig) -> None:
    load_or_create_ca(tls_config)
    assert _mode(tls_config.ca_key_path) == 0o600
    assert _mode(tls_config.directory) == 0o700
    # No temporary files are left behind.
    leftovers = [p.name for p in tls_config.directory.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_ca_certificate_is_a_p256_signing_ca(tls_config: TlsConfig) -> None:
    ca = load_or_create_ca(tls_config)
    cert = ca.certificate
    assert isinstance(ca.private_key.curve, ec.SECP256R1)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    cert.verify_directly_issued_by(cert)


def _create_in_child(directory: str, start_at: float) -> str:
    # All children wake at the same instant so their first look at the directory races.
    time.sleep(max(0.0, start_at - time.time()))
    return load_or_create_ca(TlsConfig(Path(directory))).fingerprint_sha256


def test_racing_processes_agree_on_one_ca(tls_config: TlsConfig) -> None:
    workers = 6
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # Warm the pool so the start time below is not spent importing.
        list(pool.map(time.sleep, [0.0] * workers))
        start_at = time.time() + 0.5
        futures = [
            pool.submit(_create_in_child, str(tls_config.directory), start_at)
            for _ in range(workers)
        ]
        fingerprints = {future.result(timeout=60) for future in futures}
    assert len(fingerprints) == 1
    assert load_or_create_ca(tls_config).fingerprint_sha256 in fingerprints


def test_leftover_key_without_certificate_is_replaced(tls_config: TlsConfig) -> None:
    # A crash between writing the key and the certificate leaves only the key.
    tls_config.directory.mkdir(parents=True)
    tls_config.ca_key_path.write_bytes(b"half-written")
    ca = load_or_create_ca(tls_config)
    assert load_or_create_ca(tls_config).fingerprint_sha256 == ca.fingerprint_sha256


def test_certificate_without_key_is_an_error(tls_config: TlsConfig) -> None:
    load_or_create_ca(tls_config)
    tls_config.ca_key_path.unlink()
    with pytest.raises(TlsError, match=r"ca-key\.pem is missing"):
        load_or_create_ca(tls_config)


def test_key_that_does_not_match_is_an_error(tls_config: TlsConfig, tmp_path: Path) -> None:
    load_or_create_ca(tls_config)
    other = TlsConfig(tmp_path / "other")
    load_or_create_ca(other)
    tls_config.ca_key_path.write_bytes(other.ca_key_path.read_bytes())
    with pytest.raises(TlsError, match="does not match"):
        load_or_create_ca(tls_config)


def test_corrupt_certificate_is_an_error(tls_config: TlsConfig) -> None:
    load_or_create_ca(tls_config)
    tls_config.ca_cert_path.write_bytes(b"not a certificate")
    with pytest.raises(TlsError, match=r"ca\.pem is not a PEM certificate"):
        load_or_create_ca(tls_config)


def test_expired_ca_is_an_error(tls_config: TlsConfig, clock: FakeClock) -> None:
    load_or_create_ca(tls_config, now=clock)
    clock.advance(tls_config.ca_validity_seconds + 1)
    with pytest.raises(TlsError, match="expired"):
        load_or_create_ca(tls_config, now=clock)
