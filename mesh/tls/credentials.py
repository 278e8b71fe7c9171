"""gRPC mTLS credentials for a service, built from its leaf certificate and the mesh CA."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from mesh.tls._common import utc
from mesh.tls.ca import load_or_create_ca
from mesh.tls.config import TlsConfig
from mesh.tls.issue import ensure_leaf
from mesh.tls.spiffe import validate_service_name

logger = logging.getLogger(__name__)

# Channel option that makes the client check the server certificate against this name
# instead of the address it dialled (instances are reached by IP from discovery).
TARGET_NAME_OVERRIDE = "grpc.ssl_target_name_override"


@dataclass(frozen=True, slots=True)
class ServiceCredentials:
    """The PEM material one service needs to serve and to call others over mTLS."""

    service_name: str
    certificate_chain_pem: bytes
    private_key_pem: bytes = field(repr=False)
    root_certificates_pem: bytes
    not_valid_after: dt.datetime

    def server_credentials(self) -> Any:
        """`grpc.ServerCredentials` that require and verify a client certificate."""
        return grpc.ssl_server_credentials(
            [(self.private_key_pem, self.certificate_chain_pem)],
            root_certificates=self.root_certificates_pem,
            require_client_auth=True,
        )

    def server_certificate_configuration(self) -> Any:
        """A `grpc.ServerCertificateConfiguration` for dynamic server credentials."""
        return grpc.ssl_server_certificate_configuration(
            [(self.private_key_pem, self.certificate_chain_pem)],
            root_certificates=self.root_certificates_pem,
        )

    def channel_credentials(self) -> Any:
        """`grpc.ChannelCredentials` presenting this service's certificate to the server."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.root_certificates_pem,
            private_key=self.private_key_pem,
            certificate_chain=self.certificate_chain_pem,
        )


def channel_options(target_service: str) -> list[tuple[str, str]]:
    """Channel options for calling `target_service` at whatever address discovery gave.

    Every leaf carries its service name as a DNS SAN, so verifying the server against the
    name keeps hostname checking meaningful when the address is an IP.
    """
    return [(TARGET_NAME_OVERRIDE, validate_service_name(target_service))]


def load_service_credentials(
    config: TlsConfig, service_name: str, *, now: Callable[[], float] = time.time
) -> ServiceCredentials:
    """Load (creating or reissuing as needed) the mesh CA and the leaf of `service_name`.

    This does file I/O and may generate keys; from async code use
    `load_service_credentials_async`.
    """
    ca = load_or_create_ca(config, now=now)
    leaf = ensure_leaf(config, ca, service_name, now=now)
    return ServiceCredentials(
        service_name=service_name,
        certificate_chain_pem=leaf.certificate_pem,
        private_key_pem=leaf.private_key_pem,
        root_certificates_pem=ca.certificate_pem,
        not_valid_after=leaf.not_valid_after,
    )


async def load_service_credentials_async(
    config: TlsConfig, service_name: str, *, now: Callable[[], float] = time.time
) -> ServiceCredentials:
    """`load_service_credentials` in a worker thread, off the event loop."""
    return await asyncio.to_thread(load_service_credentials, config, service_name, now=now)


def reloading_server_credentials(
    config: TlsConfig, service_name: str, *, now: Callable[[], float] = time.time
) -> Any:
    """Server credentials (client certificates required) that renew the leaf in place.

    grpc consults the fetcher before each new connection's handshake; once the leaf enters
    its renewal window it is reissued and later connections get the new certificate, so a
    long-running server never serves an expired one. Existing connections are unaffected.
    """
    renewer = _Renewer(config, service_name, now)
    return grpc.dynamic_ssl_server_credentials(
        renewer.current.server_certificate_configuration(),
        renewer.fetch,
        require_client_authentication=True,
    )


class _Renewer:
    # After a failed or fruitless renewal, connections skip the file work for this long.
    RETRY_SECONDS = 60.0

    def __init__(self, config: TlsConfig, service_name: str, now: Callable[[], float]) -> None:
        self._config = config
        self._service_name = service_name
        self._now = now
        self._lock = threading.Lock()
        self.current = load_service_credentials(config, service_name, now=now)
        self._next_attempt = 0.0

    def fetch(self) -> Any:
        # Runs on a grpc thread once per incoming connection: keep the common path cheap.
        with self._lock:
            timestamp = self._now()
            renew_at = self.current.not_valid_after - dt.timedelta(
                seconds=self._config.renew_before_seconds
            )
            if utc(timestamp) < renew_at or timestamp < self._next_attempt:
                return None
            try:
                fresh = load_service_credentials(self._config, self._service_name, now=self._now)
            except Exception:
                logger.exception(
                    "renewing the service certificate failed",
                    extra={"service": self._service_name},
                )
                fresh = self.current
            if fresh.certificate_chain_pem == self.current.certificate_chain_pem:
                self._next_attempt = timestamp + self.RETRY_SECONDS
                return None
            self.current = fresh
            return fresh.server_certificate_configuration()
