"""Two services on loopback, A calling B inside its handler through the client chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import grpc
from prometheus_client import CollectorRegistry
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc
from trademesh.notification.v1 import notification_pb2, notification_pb2_grpc

from interceptors import ServerInterceptorConfig
from mesh.client.interceptors import ClientInterceptorConfig, client_interceptors

from .conftest import USER_ID, serving
from .servicers import Context, Notifications, Seen, adding


class Relay(identity_pb2_grpc.IdentityServiceServicer):
    """Service A: answers GetMe after calling service B, unary and server-streaming."""

    def __init__(
        self, seen: Seen, upstream: notification_pb2_grpc.NotificationServiceStub, timeout: float
    ) -> None:
        self.seen = seen
        self.upstream = upstream
        self.timeout = timeout

    async def GetMe(
        self, request: identity_pb2.GetMeRequest, context: Context
    ) -> identity_pb2.GetMeResponse:
        self.seen.record(context)
        await self.upstream.ListNotifications(
            notification_pb2.ListNotificationsRequest(), timeout=self.timeout
        )
        async for _ in self.upstream.StreamNotifications(
            notification_pb2.StreamNotificationsRequest(), timeout=self.timeout
        ):
            pass
        return identity_pb2.GetMeResponse(user=identity_pb2.User(user_id=USER_ID))


@dataclass
class TwoHops:
    front: identity_pb2_grpc.IdentityServiceStub  # how the test (the edge) calls A
    seen_a: Seen
    seen_b: Seen
    client_registry: CollectorRegistry


@asynccontextmanager
async def two_hops(
    server_config: ServerInterceptorConfig,
    *,
    upstream_timeout: float,
    edge_interceptors: list[grpc.aio.ClientInterceptor] | None = None,
) -> AsyncIterator[TwoHops]:
    seen_a, seen_b = Seen(), Seen()
    client_registry = CollectorRegistry()
    a_client = client_interceptors(
        ClientInterceptorConfig(
            registry=client_registry, tracer_provider=server_config.tracer_provider
        )
    )
    async with (
        serving(replace(server_config, service_name="b"), adding(Notifications(seen_b))) as b,
        grpc.aio.insecure_channel(b.address, interceptors=a_client) as to_b,
    ):
        relay = Relay(seen_a, notification_pb2_grpc.NotificationServiceStub(to_b), upstream_timeout)

        def add_relay(server: grpc.aio.Server) -> None:
            identity_pb2_grpc.add_IdentityServiceServicer_to_server(relay, server)

        async with (
            serving(replace(server_config, service_name="a"), add_relay) as a,
            grpc.aio.insecure_channel(a.address, interceptors=edge_interceptors) as to_a,
        ):
            yield TwoHops(
                identity_pb2_grpc.IdentityServiceStub(to_a), seen_a, seen_b, client_registry
            )
