"""Fixtures for the interceptor tests: real grpc.aio servers on loopback running the real
interceptor chain, real signed tokens, and the real contracts' access options and rules."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from interceptors import ServerInterceptorConfig, server_interceptors, status_details
from mesh.observability import JsonFormatter
from mesh.tls import ServiceCredentials, TlsConfig, load_service_credentials
from mesh.tokens import AsyncTokenVerifier, JwksCache, KeyRing, TokenConfig, TokenIssuer

from . import probe

CALL_TIMEOUT_SECONDS = 10.0
STOP_GRACE_SECONDS = 5.0
USER_ID = "9b2f0c8e-2f8a-4d7b-9d55-0a3f1c6e7b21"


@dataclass
class Tokens:
    """Signs access tokens the way identity does, now or an hour ago."""

    issuer: TokenIssuer
    past_issuer: TokenIssuer

    def access(self, *roles: str, session_id: str = "session-1") -> str:
        return self.issuer.issue_access(
            subject=USER_ID, session_id=session_id, roles=roles or ("viewer",)
        ).token

    def expired(self, *roles: str) -> str:
        return self.past_issuer.issue_access(
            subject=USER_ID, session_id="session-1", roles=roles or ("viewer",)
        ).token


@dataclass
class Revocations:
    revoked: set[str] = field(default_factory=set)

    async def is_revoked(self, session_id: str) -> bool:
        return session_id in self.revoked


@pytest.fixture
def token_config() -> TokenConfig:
    return TokenConfig(issuer="https://identity.trademesh.test", audience="trademesh")


@pytest.fixture
def ring(token_config: TokenConfig) -> KeyRing:
    return KeyRing.generate(retention_seconds=token_config.key_retention_seconds)


@pytest.fixture
def tokens(token_config: TokenConfig, ring: KeyRing) -> Tokens:
    an_hour_ago = time.time() - 3600
    return Tokens(
        issuer=TokenIssuer(token_config, ring),
        past_issuer=TokenIssuer(token_config, ring, now=lambda: an_hour_ago),
    )


@pytest.fixture
def verifier(token_config: TokenConfig, ring: KeyRing) -> AsyncTokenVerifier:
    # The JWKS transport (identity's GetJwks in production) handed the ring's real JWKS.
    async def fetch() -> dict[str, Any]:
        return ring.jwks()

    return AsyncTokenVerifier(JwksCache(fetch), token_config)


@pytest.fixture
def revocations() -> Revocations:
    return Revocations()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    return provider


@pytest.fixture
def server_config(
    verifier: AsyncTokenVerifier,
    registry: CollectorRegistry,
    revocations: Revocations,
    tracer_provider: TracerProvider,
) -> ServerInterceptorConfig:
    return ServerInterceptorConfig(
        service_name="probe",
        verifier=verifier,
        registry=registry,
        is_revoked=revocations.is_revoked,
        tracer_provider=tracer_provider,
    )


@dataclass
class RunningServer:
    address: str  # plaintext port
    secure_address: str | None = None  # mTLS port, when credentials were given


@asynccontextmanager
async def serving(
    config: ServerInterceptorConfig,
    *register: Callable[[grpc.aio.Server], None],
    credentials: ServiceCredentials | None = None,
) -> AsyncIterator[RunningServer]:
    """A grpc.aio server with the full server chain on 127.0.0.1, stopped on exit."""
    server = grpc.aio.server(interceptors=server_interceptors(config))
    server.add_generic_rpc_handlers([probe.handlers()])
    for add in register:
        add(server)
    port = server.add_insecure_port("127.0.0.1:0")
    running = RunningServer(address=f"127.0.0.1:{port}")
    if credentials is not None:
        secure_port = server.add_secure_port("127.0.0.1:0", credentials.server_credentials())
        running.secure_address = f"127.0.0.1:{secure_port}"
    await server.start()
    try:
        yield running
    finally:
        # A grace period lets handler tasks finish unwinding (an abort reaches the caller
        # before the interceptors around it have recorded the call).
        await server.stop(STOP_GRACE_SECONDS)


@pytest.fixture
def tls_config(tmp_path: Path) -> TlsConfig:
    return TlsConfig.for_state_dir(tmp_path)


@pytest.fixture
def service_credentials(tls_config: TlsConfig) -> Callable[[str], ServiceCredentials]:
    """Credentials of a mesh service, issued by a mesh CA created in tmp_path."""
    return lambda name: load_service_credentials(tls_config, name)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


class JsonLines(logging.Handler):
    """Keeps every record as the JSON object JsonFormatter makes of it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("probe"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def access_entries(self) -> list[dict[str, Any]]:
        return [entry for entry in self.entries if entry["logger"] == "trademesh.access"]


@pytest.fixture
def json_logs() -> Iterator[JsonLines]:
    handler = JsonLines()
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def refusal(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str]:
    """(code, ErrorInfo reason) of a refused call."""
    details = status_details(error)
    info = details.find(error_details_pb2.ErrorInfo)
    assert info is not None, f"no ErrorInfo in {details}"
    assert info.domain == "trademesh"
    return details.code, info.reason


async def refused(call: Any) -> tuple[grpc.StatusCode, str]:
    """Await a call that must fail; its (code, ErrorInfo reason)."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return refusal(raised.value)
