"""The server interceptor chain's cost per unary call: a bare grpc.aio server against the same
server behind `server_interceptors(...)`, interleaved A/B in one run.

Each variant runs in its own process (so the client's work is not charged to it), serving two
methods of the identity contract with trivial handlers: `GetJwks` (public) and `GetMe` (needs
an access token, verified against a JWKS and checked for revocation). The chained server is
set up as a service is: JSON logs at INFO to a file, the tracer provider of a service without
an OTLP endpoint (spans carry trace context, nothing is recorded), a Prometheus registry; the
variants (see VARIANTS) split the cost: grpc.aio's own for an interceptor and for initial
metadata sent first, and the access log's with every call logged or 1%. Each round measures,
for each variant and method in turn, µs per call at one call in flight and req/s at
`--concurrency` in flight, and the server process's CPU µs per call
(from /proc, over both phases). The median of the rounds is printed, and the chain's cost
as the difference to the bare server measured in the same rounds.

    .venv/bin/python bench/interceptors.py [--rounds 5] [--calls 1500] [--concurrency 32]
        [--variants bare,metadata,chain,sampled] [--other-tree DIR] [--micro]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import grpc
from prometheus_client import CollectorRegistry
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc

from bench import _interceptor_micro
from bench._workdir import scratch
from interceptors import (
    AccessLogConfig,
    ServerInterceptorConfig,
    bearer_metadata,
    server_interceptors,
)
from mesh import context as call_context
from mesh.observability import build_tracer_provider, configure_logging
from mesh.tokens import AsyncTokenVerifier, JwksCache, KeyRing, TokenConfig, TokenIssuer
from mesh.tokens.revocations import RevokedSessions

# bare: no interceptor; noop: one that does nothing; metadata: one that only sends initial
# metadata first (the correlation id's echo); chain: the server chain as services build it,
# every call logged; sampled: the same logging 1% of successful calls.
# other: the chain of another checkout (--other-tree), to compare two revisions in one run.
VARIANTS = ("bare", "noop", "metadata", "chain", "sampled", "other")
DEFAULT_VARIANTS = ("bare", "metadata", "chain", "sampled")
SAMPLE_RATE = 0.01
METHODS = ("public", "token")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


class Identity(identity_pb2_grpc.IdentityServiceServicer):
    """The two methods measured, answering at once; the others are grpc's UNIMPLEMENTED."""

    async def GetJwks(
        self, request: identity_pb2.GetJwksRequest, context: Context
    ) -> identity_pb2.GetJwksResponse:
        return identity_pb2.GetJwksResponse()

    async def GetMe(
        self, request: identity_pb2.GetMeRequest, context: Context
    ) -> identity_pb2.GetMeResponse:
        principal = call_context.current().principal
        user_id = "bare" if principal is None else principal.user_id
        return identity_pb2.GetMeResponse(user=identity_pb2.User(user_id=user_id))


class PassThrough(grpc.aio.ServerInterceptor):
    """An interceptor that does nothing: what grpc.aio charges for having one at all."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        return await continuation(handler_call_details)


class InitialMetadata(grpc.aio.ServerInterceptor):
    """Sends initial metadata before the handler runs, as the chain does to echo the
    correlation id: grpc.aio sends it as a batch of its own, a cost no Python code avoids."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        behavior = handler.unary_unary

        async def send_first(request: Any, context: Context) -> Any:
            await context.send_initial_metadata((("x-correlation-id", "bench"),))
            return await behavior(request, context)  # type: ignore[arg-type]

        return grpc.unary_unary_rpc_method_handler(
            send_first, handler.request_deserializer, handler.response_serializer
        )


async def serve(variant: str) -> None:
    config = TokenConfig(issuer="https://identity.trademesh.bench", audience="trademesh")
    ring = KeyRing.generate(retention_seconds=config.key_retention_seconds)
    token = (
        TokenIssuer(config, ring)
        .issue_access(subject=str(uuid.uuid4()), session_id=str(uuid.uuid4()), roles=("trader",))
        .token
    )
    chain: list[grpc.aio.ServerInterceptor] = []
    if variant in ("chain", "sampled"):
        configure_logging("bench", logging.INFO)  # stderr: a file the parent opened

        async def jwks() -> dict[str, Any]:
            return ring.jwks()

        revoked = RevokedSessions()
        revoked.revoke(str(uuid.uuid4()), time.time() + 3600.0)  # one revoked, not this one
        chain = server_interceptors(
            ServerInterceptorConfig(
                service_name="bench",
                verifier=AsyncTokenVerifier(JwksCache(jwks), config),
                is_revoked=revoked.is_revoked,
                registry=CollectorRegistry(),
                tracer_provider=build_tracer_provider("bench"),
                access_log=AccessLogConfig(SAMPLE_RATE if variant == "sampled" else 1.0),
            )
        )
    if variant == "noop":
        chain = [PassThrough()]
    elif variant == "metadata":
        chain = [InitialMetadata()]
    server = grpc.aio.server(interceptors=chain)
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(Identity(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print("READY", port, token, flush=True)

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)

    def stdin_readable() -> None:
        if not sys.stdin.read(1):
            done.set()

    loop.add_reader(sys.stdin.fileno(), stdin_readable)
    await done.wait()
    await server.stop(None)


@dataclass
class Server:
    variant: str
    process: subprocess.Popen[str]
    channel: grpc.aio.Channel
    stub: Any  # identity_pb2_grpc.IdentityServiceAsyncStub, which exists only in the .pyi
    token_metadata: tuple[tuple[str, str], ...]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime + stime

    async def call(self, method: str) -> None:
        if method == "public":
            await self.stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=10.0)
        else:
            await self.stub.GetMe(
                identity_pb2.GetMeRequest(), metadata=self.token_metadata, timeout=10.0
            )


def start(variant: str, logs: Path, other_tree: Path | None) -> Server:
    script, served = Path(__file__), variant
    if variant == "other":
        assert other_tree is not None, "the other variant needs --other-tree"
        script, served = other_tree / "bench" / "interceptors.py", "chain"
    process = subprocess.Popen(
        [sys.executable, str(script), "--serve", served],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(logs / f"{variant}.log").open("w"),
        text=True,
    )
    assert process.stdout is not None
    ready, port, token = process.stdout.readline().split()
    assert ready == "READY", f"the {variant} server did not start; see {logs}"
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    return Server(
        variant,
        process,
        channel,
        identity_pb2_grpc.IdentityServiceStub(channel),
        (bearer_metadata(token),),
    )


def stop(server: Server) -> None:
    assert server.process.stdin is not None
    server.process.stdin.close()
    try:
        server.process.wait(10.0)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@dataclass
class Sample:
    latency_us: float  # one call in flight
    rate: float  # req/s at `concurrency` in flight
    cpu_us: float  # server CPU per call over both phases


async def measure(server: Server, method: str, calls: int, concurrency: int) -> Sample:
    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    for _ in range(calls):
        await server.call(method)
    latency_us = (time.perf_counter() - started) / calls * 1e6

    per_worker = max(calls * 2 // concurrency, 1)

    async def worker() -> None:
        for _ in range(per_worker):
            await server.call(method)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    rate = per_worker * concurrency / (time.perf_counter() - started)
    cpu_us = (server.cpu_seconds() - cpu_before) / (calls + per_worker * concurrency) * 1e6
    return Sample(latency_us, rate, cpu_us)


def report(
    samples: dict[tuple[str, str], list[Sample]],
    variants: tuple[str, ...],
    rounds: int,
    concurrency: int,
) -> None:
    def median(variant: str, method: str, field: str) -> float:
        return statistics.median(float(getattr(s, field)) for s in samples[(variant, method)])

    print(
        f"\nServer interceptor chain: {rounds} interleaved rounds, medians "
        f"({os.cpu_count()} cores, client in this process)"
    )
    print(f"{'':16} {'µs/call @1':>11} {'req/s @' + str(concurrency):>11} {'CPU µs/call':>12}")
    for method in METHODS:
        for variant in variants:
            print(
                f"{method + ' ' + variant:16} {median(variant, method, 'latency_us'):11.0f} "
                f"{median(variant, method, 'rate'):11.0f} {median(variant, method, 'cpu_us'):12.0f}"
            )
    print("\nCost over bare (median of per-round differences; rate as variant/bare):")
    for variant in variants[1:]:
        for method in METHODS:
            pairs = list(zip(samples[("bare", method)], samples[(variant, method)], strict=True))
            latency = statistics.median(c.latency_us - b.latency_us for b, c in pairs)
            cpu = statistics.median(c.cpu_us - b.cpu_us for b, c in pairs)
            ratio = statistics.median(c.rate / b.rate for b, c in pairs)
            print(
                f"{method + ' ' + variant:16} +{latency:5.0f} µs/call @1   "
                f"+{cpu:5.0f} CPU µs/call   rate x{ratio:.2f}"
            )


async def run(
    variants: tuple[str, ...], rounds: int, calls: int, concurrency: int, other_tree: Path | None
) -> None:
    with scratch() as logs:
        servers = [start(variant, logs, other_tree) for variant in variants]
        try:
            for server in servers:  # warm-up: channels, caches, JIT-less but lazy imports
                for method in METHODS:
                    await measure(server, method, calls // 5, concurrency)
            samples: dict[tuple[str, str], list[Sample]] = {
                (v, m): [] for v in variants for m in METHODS
            }
            for number in range(rounds):
                # Rotate which variant goes first so drift favours none.
                shift = number % len(servers)
                ordered = servers[shift:] + servers[:shift]
                for method in METHODS:
                    for server in ordered:
                        sample = await measure(server, method, calls, concurrency)
                        samples[(server.variant, method)].append(sample)
        finally:
            for server in servers:
                await server.channel.close()
                stop(server)
        report(samples, variants, rounds, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1500, help="sequential calls per phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help=f"comma-separated, bare first; of {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--other-tree", type=Path, help="a checkout whose chain the 'other' variant runs"
    )
    parser.add_argument(
        "--micro", action="store_true", help="also the chain's own work, without grpc"
    )
    parser.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
    else:
        variants = tuple(args.variants.split(","))
        if variants[0] != "bare" or not set(variants) <= set(VARIANTS):
            parser.error(f"--variants: bare first, then any of {', '.join(VARIANTS[1:])}")
        asyncio.run(run(variants, args.rounds, args.calls, args.concurrency, args.other_tree))
        if args.micro:
            _interceptor_micro.main(args.rounds, args.calls)


if __name__ == "__main__":
    main()
