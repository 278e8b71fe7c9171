"""The mesh certificate authority: created once in a directory, loaded afterwards."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mesh.tls._common import BACKDATE, private_key_pem, utc
from mesh.tls._files import locked_directory, read_optional, write_atomic
from mesh.tls.config import TlsConfig
from mesh.tls.errors import TlsError
from mesh.tls.spiffe import TRUST_DOMAIN

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MeshCA:
    """The CA certificate and its signing key."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def fingerprint_sha256(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()


def load_or_create_ca(config: TlsConfig, *, now: Callable[[], float] = time.time) -> MeshCA:
    """Load the mesh CA from `config.directory`, creating it if it does not exist yet.

    Safe when several processes start at once: creation runs under a directory lock and
    the certificate file, written last, is the commit point.
    """
    with locked_directory(config.directory):
        cert_pem = read_optional(config.ca_cert_path)
        if cert_pem is None:
            ca = _create_ca(config, utc(now()))
            # The key goes first: a certificate on disk always has its key beside it.
            write_atomic(config.ca_key_path, private_key_pem(ca.private_key), 0o600)
            write_atomic(config.ca_cert_path, ca.certificate_pem, 0o644)
            logger.info(
                "created mesh CA",
                extra={"path": str(config.ca_cert_path), "sha256": ca.fingerprint_sha256},
            )
            return ca
        key_pem = read_optional(config.ca_key_path)
    if key_pem is None:
        raise TlsError(f"mesh CA key {config.ca_key_path} is missing")
    ca = _parse_ca(config, cert_pem, key_pem)
    if ca.certificate.not_valid_after_utc <= utc(now()):
        raise TlsError(
            f"mesh CA {config.ca_cert_path} expired on {ca.certificate.not_valid_after_utc:%F}; "
            f"remove {config.directory} to create a new mesh CA"
        )
    return ca


def _create_ca(config: TlsConfig, now: dt.datetime) -> MeshCA:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, TRUST_DOMAIN),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{TRUST_DOMAIN} mesh CA"),
        ]
    )
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(seconds=config.ca_validity_seconds))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return MeshCA(certificate=certificate, private_key=key)


def _parse_ca(config: TlsConfig, cert_pem: bytes, key_pem: bytes) -> MeshCA:
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise TlsError(
            f"mesh CA certificate {config.ca_cert_path} is not a PEM certificate"
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise TlsError(f"mesh CA key {config.ca_key_path} is not an unencrypted PEM key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TlsError(f"mesh CA key {config.ca_key_path} is not an EC key")
    if key.public_key() != certificate.public_key():
        raise TlsError(f"mesh CA key {config.ca_key_path} does not match {config.ca_cert_path}")
    return MeshCA(certificate=certificate, private_key=key)
