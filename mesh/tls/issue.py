"""Per-service leaf certificates: issued by the mesh CA, reissued when no longer fit."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mesh.tls._common import BACKDATE, private_key_pem, utc
from mesh.tls._files import locked_directory, read_optional, write_atomic
from mesh.tls.ca import MeshCA
from mesh.tls.config import TlsConfig
from mesh.tls.spiffe import TRUST_DOMAIN, spiffe_id, validate_service_name

logger = logging.getLogger(__name__)

_LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class LeafCertificate:
    """A service's certificate and private key."""

    service_name: str
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def private_key_pem(self) -> bytes:
        return private_key_pem(self.private_key)

    @property
    def not_valid_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc


def issue_leaf(
    ca: MeshCA,
    service_name: str,
    *,
    validity_seconds: float,
    now: float,
    extra_dns_names: Iterable[str] = (),
    extra_ip_addresses: Iterable[str] = (),
) -> LeafCertificate:
    """Issue a fresh key and certificate for `service_name`, usable as server and client."""
    validate_service_name(service_name)
    key = ec.generate_private_key(ec.SECP256R1())
    start = utc(now)
    # A leaf never outlives the CA that signed it.
    end = min(start + dt.timedelta(seconds=validity_seconds), ca.certificate.not_valid_after_utc)
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, TRUST_DOMAIN),
                    x509.NameAttribute(NameOID.COMMON_NAME, service_name),
                ]
            )
        )
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - BACKDATE)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName(
                _expected_sans(service_name, extra_dns_names, extra_ip_addresses)
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca.private_key, hashes.SHA256())
    )
    return LeafCertificate(service_name=service_name, certificate=certificate, private_key=key)


def reissue_reason(
    leaf: LeafCertificate | None,
    ca: MeshCA,
    service_name: str,
    *,
    config: TlsConfig,
    now: float,
) -> str | None:
    """Why `leaf` must be replaced (a short phrase for the log), or None if it is fit."""
    if leaf is None:
        return "missing"
    certificate = leaf.certificate
    if leaf.private_key.public_key() != certificate.public_key():
        return "key does not match certificate"
    try:
        certificate.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        return "not signed by the current mesh CA"
    expected = _expected_sans(service_name, config.extra_dns_names, config.extra_ip_addresses)
    if _san_set(certificate) != _key_set(expected):
        return "subject alternative names differ"
    current = utc(now)
    if certificate.not_valid_before_utc > current:
        return "not yet valid"
    if certificate.not_valid_after_utc - current <= dt.timedelta(
        seconds=config.renew_before_seconds
    ):
        return "expired or expiring soon"
    return None


def ensure_leaf(
    config: TlsConfig,
    ca: MeshCA,
    service_name: str,
    *,
    now: Callable[[], float] = time.time,
) -> LeafCertificate:
    """Load the certificate of `service_name`, issuing a new one if it is not fit for use."""
    cert_path = config.leaf_cert_path(service_name)
    key_path = config.leaf_key_path(service_name)
    with locked_directory(config.directory):
        current = _load_leaf(service_name, read_optional(cert_path), read_optional(key_path))
        timestamp = now()
        reason = reissue_reason(current, ca, service_name, config=config, now=timestamp)
        if current is not None and reason is None:
            return current
        leaf = issue_leaf(
            ca,
            service_name,
            validity_seconds=config.leaf_validity_seconds,
            now=timestamp,
            extra_dns_names=config.extra_dns_names,
            extra_ip_addresses=config.extra_ip_addresses,
        )
        write_atomic(key_path, leaf.private_key_pem, 0o600)
        write_atomic(cert_path, leaf.certificate_pem, 0o644)
    logger.info(
        "issued service certificate",
        extra={
            "service": service_name,
            "reason": reason,
            "not_after": leaf.not_valid_after.isoformat(),
        },
    )
    return leaf


def _load_leaf(
    service_name: str, cert_pem: bytes | None, key_pem: bytes | None
) -> LeafCertificate | None:
    # Unreadable files are treated like missing ones: the caller reissues over them.
    if cert_pem is None or key_pem is None:
        return None
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    return LeafCertificate(service_name=service_name, certificate=certificate, private_key=key)


def _expected_sans(
    service_name: str, extra_dns_names: Iterable[str], extra_ip_addresses: Iterable[str]
) -> list[x509.GeneralName]:
    dns_names = dict.fromkeys(["localhost", service_name, *extra_dns_names])
    ips = dict.fromkeys([_LOOPBACK, *extra_ip_addresses])
    return [
        x509.UniformResourceIdentifier(spiffe_id(service_name)),
        *(x509.DNSName(name) for name in dns_names),
        *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips),
    ]


def _san_set(certificate: x509.Certificate) -> frozenset[tuple[str, str]]:
    try:
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return frozenset()
    return _key_set(list(sans))


def _key_set(names: list[x509.GeneralName]) -> frozenset[tuple[str, str]]:
    return frozenset((type(name).__name__, str(name.value)) for name in names)
