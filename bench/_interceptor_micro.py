"""The server chain's own work per call, without grpc or a network: the chain's wrapped handler
called with a stand-in context, in µs per call, cases interleaved round after round.

What it splits: the whole chain (access log off, then one JSON line per call to /dev/null),
the chain without tracing (a no-op tracer), with spans recorded (as with an OTLP endpoint, here
without an exporter) and without validation, and token verification with and without the cache
of verified tokens. The plain chain has the provider of a process with no endpoint: spans carry
trace context but are not recorded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from trademesh.identity.v1 import identity_pb2

from interceptors import AccessLogConfig, bearer_metadata
from interceptors._verified import VerifiedTokens
from interceptors.auth import AccessControl, AccessRules
from interceptors.server import ServerChain
from mesh.observability import JsonFormatter, build_tracer_provider
from mesh.observability.metrics import server_metrics
from mesh.observability.tracing import rpc_tracer
from mesh.tokens import AsyncTokenVerifier, JwksCache, KeyRing, TokenConfig, TokenIssuer
from mesh.tokens.revocations import RevokedSessions

PUBLIC = "/trademesh.identity.v1.IdentityService/GetJwks"
TOKEN = "/trademesh.identity.v1.IdentityService/GetMe"


class StandInContext:
    """What the chain asks of a grpc.aio ServicerContext, answered at once."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def time_remaining(self) -> float:
        return 10.0

    async def send_initial_metadata(self, metadata: Any) -> None:
        return None

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}

    def peer(self) -> str:
        return "ipv4:127.0.0.1:50000"

    def code(self) -> None:
        return None


class NoRules:
    def collect_violations(self, request: Any) -> list[Any]:
        return []


class Details:
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata: tuple[()] = ()


async def run(rounds: int, number: int) -> None:
    config = TokenConfig(issuer="https://identity.trademesh.bench", audience="trademesh")
    ring = KeyRing.generate(retention_seconds=config.key_retention_seconds)
    token = TokenIssuer(config, ring).issue_access(subject="u", session_id="s", roles=("trader",))

    async def jwks() -> dict[str, Any]:
        return ring.jwks()

    verifier = AsyncTokenVerifier(JwksCache(jwks), config)
    revoked = RevokedSessions()
    logger = logging.getLogger("bench.access")
    logger.propagate = False
    handler = logging.FileHandler(os.devnull)
    handler.setFormatter(JsonFormatter("bench"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def chain(**changes: Any) -> ServerChain:
        settings: dict[str, Any] = {
            "service_name": "bench",
            "access": AccessControl(verifier, is_revoked=revoked.is_revoked, rules=AccessRules()),
            "metrics": server_metrics(CollectorRegistry()),
            "tracer": rpc_tracer(build_tracer_provider("bench")),
            "access_log": AccessLogConfig(0.0),
            "logger": logger,
        }
        settings.update(changes)
        return ServerChain(**settings)

    chains = {
        "chain, no access line": chain(),
        "chain, one JSON line per call": chain(access_log=AccessLogConfig(1.0)),
        "chain, no line, no-op tracer": chain(tracer=trace.NoOpTracer()),
        "chain, no line, spans recorded": chain(tracer=rpc_tracer(TracerProvider())),
        "chain, no line, no validation": chain(validator=NoRules()),
    }

    async def handle(request: Any, context: Any) -> identity_pb2.GetMeResponse:
        return identity_pb2.GetMeResponse()

    unwrapped: Any = grpc.unary_unary_rpc_method_handler(handle)

    async def continuation(details: Any) -> Any:
        return unwrapped

    request = identity_pb2.GetMeRequest()
    base = (("user-agent", "grpc-python"), ("x-correlation-id", "bench-1"))
    contexts = {
        "public": (Details(PUBLIC), StandInContext(base)),
        "token": (Details(TOKEN), StandInContext((*base, bearer_metadata(token.token)))),
    }
    cases: dict[str, Callable[[], Awaitable[Any]]] = {}
    for name, built in chains.items():
        for method, (details, context) in contexts.items():

            async def call(
                built: ServerChain = built, details: Any = details, ctx: Any = context
            ) -> Any:
                wrapped: Any = await built.intercept_service(continuation, details)
                return await wrapped.unary_unary(request, ctx)

            cases[f"{name} ({method})"] = call
    cached = VerifiedTokens()
    cached.put(token.token, await verifier.verify_access(token.token))

    async def verify() -> Any:
        return await verifier.verify_access(token.token)

    async def lookup() -> Any:
        return cached.get(token.token)

    cases["token verification (EdDSA)"] = verify
    cases["token verification, cached"] = lookup

    samples: dict[str, list[float]] = {name: [] for name in cases}
    for case in cases.values():  # warm-up
        for _ in range(number // 10 or 1):
            await case()
    for _ in range(rounds):
        for name, case in cases.items():
            started = time.perf_counter()
            for _ in range(number):
                await case()
            samples[name].append((time.perf_counter() - started) / number * 1e6)

    print(f"\nThe chain's own work: {rounds} interleaved rounds of {number} calls, µs per call")
    print(f"{'':50} {'median':>8} {'best':>8}")
    for name, values in samples.items():
        print(f"{name:50} {statistics.median(values):8.1f} {min(values):8.1f}")


def main(rounds: int, number: int) -> None:
    asyncio.run(run(rounds, number))
