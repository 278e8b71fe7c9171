"""mTLS between real grpc.aio servers and channels on loopback, and peer identity."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mesh.tls import (
    ServiceCredentials,
    TlsConfig,
    channel_options,
    load_service_credentials,
    peer_service_name,
    reloading_server_credentials,
    service_name_from_certificate,
)

METHOD = "/trademesh.test.v1.Echo/WhoAmI"
CALL_TIMEOUT_SECONDS = 10.0


@dataclass
class Server:
    address: str
    credentials: ServiceCredentials
    calls: list[str | None] = field(default_factory=list)


def _handlers(calls: list[str | None]) -> Any:
    async def who_am_i(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        name = peer_service_name(context)
        calls.append(name)
        return (name or "").encode()

    return grpc.method_handlers_generic_handler(
        "trademesh.test.v1.Echo",
        {"WhoAmI": grpc.unary_unary_rpc_method_handler(who_am_i)},
    )


@pytest.fixture
async def portfolio(tls_config: TlsConfig) -> AsyncIterator[Server]:
    credentials = load_service_credentials(tls_config, "portfolio")
    calls: list[str | None] = []
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([_handlers(calls)])
    port = server.add_secure_port("127.0.0.1:0", credentials.server_credentials())
    await server.start()
    try:
        yield Server(address=f"127.0.0.1:{port}", credentials=credentials, calls=calls)
    finally:
        await server.stop(None)


async def _call(address: str, channel_credentials: Any, target_service: str = "portfolio") -> bytes:
    async with grpc.aio.secure_channel(
        address, channel_credentials, options=channel_options(target_service)
    ) as channel:
        response: bytes = await channel.unary_unary(METHOD)(b"", timeout=CALL_TIMEOUT_SECONDS)
        return response


async def test_server_sees_the_calling_service(portfolio: Server, tls_config: TlsConfig) -> None:
    trading = load_service_credentials(tls_config, "trading")

    response = await _call(portfolio.address, trading.channel_credentials())

    assert response == b"trading"
    assert portfolio.calls == ["trading"]


async def test_client_without_certificate_is_rejected(portfolio: Server) -> None:
    anonymous = grpc.ssl_channel_credentials(
        root_certificates=portfolio.credentials.root_certificates_pem
    )
    with pytest.raises(grpc.aio.AioRpcError) as excinfo:
        await _call(portfolio.address, anonymous)
    assert excinfo.value.code() == grpc.StatusCode.UNAVAILABLE
    assert portfolio.calls == []


async def test_client_with_certificate_from_another_ca_is_rejected(
    portfolio: Server, tmp_path: Path
) -> None:
    impostor = load_service_credentials(TlsConfig(tmp_path / "impostor"), "trading")
    # The impostor trusts the real mesh CA, so only the server's check can stop it.
    credentials = grpc.ssl_channel_credentials(
        root_certificates=portfolio.credentials.root_certificates_pem,
        private_key=impostor.private_key_pem,
        certificate_chain=impostor.certificate_chain_pem,
    )
    with pytest.raises(grpc.aio.AioRpcError) as excinfo:
        await _call(portfolio.address, credentials)
    assert excinfo.value.code() == grpc.StatusCode.UNAVAILABLE
    assert portfolio.calls == []


async def test_client_refuses_a_server_with_the_wrong_name(
    portfolio: Server, tls_config: TlsConfig
) -> None:
    trading = load_service_credentials(tls_config, "trading")
    with pytest.raises(grpc.aio.AioRpcError) as excinfo:
        await _call(portfolio.address, trading.channel_credentials(), target_service="marketdata")
    assert excinfo.value.code() == grpc.StatusCode.UNAVAILABLE
    assert portfolio.calls == []


async def test_insecure_call_has_no_peer_service() -> None:
    calls: list[str | None] = []
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([_handlers(calls)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            response = await channel.unary_unary(METHOD)(b"", timeout=CALL_TIMEOUT_SECONDS)
    finally:
        await server.stop(None)
    assert response == b""
    assert calls == [None]


class _AuthContext:
    """Stands in for a ServicerContext: peer_service_name reads only auth_context()."""

    def __init__(self, auth: Mapping[str, Sequence[bytes]]) -> None:
        self._auth = auth

    def auth_context(self) -> Mapping[str, Sequence[bytes]]:
        return self._auth


def test_identity_falls_back_to_the_peer_certificate(tls_config: TlsConfig) -> None:
    trading = load_service_credentials(tls_config, "trading")
    context = _AuthContext(
        {"transport_security_type": [b"ssl"], "x509_pem_cert": [trading.certificate_chain_pem]}
    )
    assert peer_service_name(context) == "trading"


def test_foreign_trust_domain_names_no_service() -> None:
    context = _AuthContext(
        {"transport_security_type": [b"ssl"], "peer_spiffe_id": [b"spiffe://elsewhere/trading"]}
    )
    assert peer_service_name(context) is None


def _self_signed(*uris: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(u) for u in uris]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )


def test_certificate_identity_needs_exactly_one_spiffe_id() -> None:
    assert service_name_from_certificate(_self_signed("spiffe://trademesh/trading")) == "trading"
    two = _self_signed("spiffe://trademesh/trading", "spiffe://trademesh/admin")
    assert service_name_from_certificate(two) is None
    pem = two.public_bytes(serialization.Encoding.PEM)
    context = _AuthContext({"transport_security_type": [b"ssl"], "x509_pem_cert": [pem]})
    assert peer_service_name(context) is None


def _served_certificate(port: int, client: ServiceCredentials, tmp_path: Path) -> x509.Certificate:
    """The certificate the server presents on a new connection, read with plain ssl."""
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client-key.pem"
    cert_file.write_bytes(client.certificate_chain_pem)
    key_file.write_bytes(client.private_key_pem)
    context = ssl.create_default_context(cadata=client.root_certificates_pem.decode())
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=CALL_TIMEOUT_SECONDS) as raw,
        context.wrap_socket(raw, server_hostname="portfolio") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


async def test_reloading_server_renews_its_certificate_without_restart(
    tls_config: TlsConfig, tmp_path: Path
) -> None:
    # Issue the first leaf "in the past" so that, in real time, it is already inside its
    # renewal window while still valid.
    issued_days_ago = (tls_config.leaf_validity_seconds - tls_config.renew_before_seconds) + 60
    load_service_credentials(tls_config, "portfolio", now=lambda: time.time() - issued_days_ago)
    before = x509.load_pem_x509_certificate(tls_config.leaf_cert_path("portfolio").read_bytes())
    trading = load_service_credentials(tls_config, "trading")

    calls: list[str | None] = []
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([_handlers(calls)])
    credentials = reloading_server_credentials(tls_config, "portfolio")
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        response = await _call(f"127.0.0.1:{port}", trading.channel_credentials())
        served = await asyncio.to_thread(_served_certificate, port, trading, tmp_path)
    finally:
        await server.stop(None)

    assert response == b"trading"
    after = x509.load_pem_x509_certificate(tls_config.leaf_cert_path("portfolio").read_bytes())
    assert after.serial_number != before.serial_number
    assert served.serial_number == after.serial_number
