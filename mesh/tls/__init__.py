"""Mesh mTLS: the certificate authority, service certificates, gRPC credentials, peers."""

from __future__ import annotations

from mesh.tls.ca import MeshCA, load_or_create_ca
from mesh.tls.config import TlsConfig
from mesh.tls.credentials import (
    TARGET_NAME_OVERRIDE,
    ServiceCredentials,
    channel_options,
    load_service_credentials,
    load_service_credentials_async,
    reloading_server_credentials,
)
from mesh.tls.errors import TlsError
from mesh.tls.issue import LeafCertificate, ensure_leaf, issue_leaf, reissue_reason
from mesh.tls.peer import peer_service_name, service_name_from_certificate
from mesh.tls.spiffe import (
    TRUST_DOMAIN,
    service_name_from_spiffe_id,
    spiffe_id,
    validate_service_name,
)

__all__ = [
    "TARGET_NAME_OVERRIDE",
    "TRUST_DOMAIN",
    "LeafCertificate",
    "MeshCA",
    "ServiceCredentials",
    "TlsConfig",
    "TlsError",
    "channel_options",
    "ensure_leaf",
    "issue_leaf",
    "load_or_create_ca",
    "load_service_credentials",
    "load_service_credentials_async",
    "peer_service_name",
    "reissue_reason",
    "reloading_server_credentials",
    "service_name_from_certificate",
    "service_name_from_spiffe_id",
    "spiffe_id",
    "validate_service_name",
]
