"""The interceptor chain every server uses, built from one config (the client chain is
`mesh.client.interceptors`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from opentelemetry import trace
from prometheus_client import REGISTRY, CollectorRegistry

from interceptors.auth import (
    STANDARD_PUBLIC_METHODS,
    AccessControl,
    AccessRules,
    AccessTokenVerifier,
    RevocationCheck,
)
from interceptors.logging import AccessLogConfig
from interceptors.server import ServerChain
from mesh.config import load_section
from mesh.observability.metrics import server_metrics
from mesh.observability.tracing import rpc_tracer


@dataclass(frozen=True, slots=True)
class ServerInterceptorConfig:
    """What the server chain needs.

    `service_name` is stamped on the access log lines.
    `verifier` checks user access tokens; without one, every RPC that needs a token is
    refused. `is_revoked(session_id)` is consulted for every verified token when given.
    `public_methods` are full method names callable without any rule, for services whose
    protos carry no access option; to add some, extend `STANDARD_PUBLIC_METHODS` (health,
    reflection) rather than replace it.
    `access_log` says which access lines are written; None reads `TRADEMESH_ACCESS_LOG_*`
    from the environment when the chain is built (every call logged unless set).
    """

    service_name: str
    verifier: AccessTokenVerifier | None = None
    registry: CollectorRegistry = REGISTRY
    is_revoked: RevocationCheck | None = None
    tracer_provider: trace.TracerProvider | None = None
    public_methods: frozenset[str] = field(default=STANDARD_PUBLIC_METHODS)
    access_log: AccessLogConfig | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.service_name, str) or not self.service_name.strip():
            raise ValueError(
                "ServerInterceptorConfig.service_name must be a non-empty string, "
                f"got {self.service_name!r}"
            )
        object.__setattr__(self, "public_methods", frozenset(self.public_methods))
        for method in self.public_methods:
            if not isinstance(method, str) or not _is_full_method(method):
                raise ValueError(
                    "ServerInterceptorConfig.public_methods entries must look like "
                    f"'/package.Service/Method', got {method!r}"
                )


def _is_full_method(method: str) -> bool:
    service, _, name = method.removeprefix("/").partition("/")
    return method.startswith("/") and bool(service) and bool(name) and "/" not in name


def server_interceptors(config: ServerInterceptorConfig) -> list[grpc.aio.ServerInterceptor]:
    """The chain as one interceptor running, outermost first: correlation ▸ access log ▸
    tracing ▸ metrics ▸ auth ▸ validation ▸ errors (see `interceptors.server`)."""
    access = AccessControl(
        config.verifier,
        is_revoked=config.is_revoked,
        rules=AccessRules(public_methods=config.public_methods),
    )
    return [
        ServerChain(
            service_name=config.service_name,
            access=access,
            metrics=server_metrics(config.registry),
            tracer=rpc_tracer(config.tracer_provider),
            access_log=config.access_log or load_section(AccessLogConfig, "access_log"),
        )
    ]
