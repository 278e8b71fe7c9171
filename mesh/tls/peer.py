"""The calling service's identity, read from the TLS peer of a gRPC call."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Protocol

from cryptography import x509

from mesh.tls.spiffe import service_name_from_spiffe_id


class HasAuthContext(Protocol):
    """What both `grpc.ServicerContext` and `grpc.aio.ServicerContext` offer."""

    def auth_context(self) -> Mapping[str, Sequence[bytes]]: ...


def peer_service_name(context: HasAuthContext) -> str | None:
    """The service name in the peer's ``spiffe://trademesh/<name>`` URI SAN, if any.

    None when the call is not over TLS, the peer sent no certificate, or its certificate
    does not carry exactly one trademesh SPIFFE ID.
    """
    auth = context.auth_context()
    if list(auth.get("transport_security_type", ())) != [b"ssl"]:
        return None
    # grpc sets peer_spiffe_id only for a verified peer with exactly one SPIFFE URI SAN.
    spiffe_ids = list(auth.get("peer_spiffe_id", ()))
    if len(spiffe_ids) == 1:
        return service_name_from_spiffe_id(bytes(spiffe_ids[0]).decode("utf-8", "replace"))
    pem_certs = list(auth.get("x509_pem_cert", ()))
    if len(pem_certs) == 1:
        return _service_name_from_pem(bytes(pem_certs[0]))
    return None


def service_name_from_certificate(certificate: x509.Certificate) -> str | None:
    """The service named by the certificate's single trademesh SPIFFE URI SAN, or None."""
    try:
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = sans.get_values_for_type(x509.UniformResourceIdentifier)
    spiffe_uris = [uri for uri in uris if uri.startswith("spiffe://")]
    if len(spiffe_uris) != 1:
        return None
    return service_name_from_spiffe_id(spiffe_uris[0])


# The same few peer certificates arrive on every call; parse each once.
@functools.lru_cache(maxsize=256)
def _service_name_from_pem(pem: bytes) -> str | None:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    return service_name_from_certificate(certificate)
