"""The client chain passes the call context on: a real two-hop call, edge ▸ A ▸ B."""

from __future__ import annotations

import time

import grpc
import pytest
from prometheus_client import CollectorRegistry
from trademesh.identity.v1 import identity_pb2
from trademesh.notification.v1 import notification_pb2, notification_pb2_grpc

from interceptors import ServerInterceptorConfig
from mesh import context as call_context
from mesh.client.interceptors import (
    ClientInterceptorConfig,
    client_interceptors,
    propagated_details,
)
from mesh.context import Principal

from .conftest import USER_ID, Tokens, bearer, serving
from .hops import two_hops
from .servicers import Notifications, Seen, adding

# The grpc-timeout header rounds a deadline up to its unit, so a hop may see a few
# milliseconds more than its caller had left.
WIRE_ROUNDING_SECONDS = 0.01


async def test_correlation_id_token_and_deadline_reach_the_second_hop(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    token = tokens.access("viewer")
    async with two_hops(server_config, upstream_timeout=30.0) as hops:
        await hops.front.GetMe(
            identity_pb2.GetMeRequest(),
            metadata=(("x-correlation-id", "two-hop-1"), *bearer(token)),
            timeout=5.0,
        )

    assert len(hops.seen_b.contexts) == 2  # the unary and the server-streaming call
    for ctx, remaining in zip(hops.seen_b.contexts, hops.seen_b.time_remaining, strict=True):
        assert ctx.correlation_id == "two-hop-1"
        assert ctx.principal is not None
        assert (ctx.principal.user_id, ctx.principal.token) == (USER_ID, token)
        # B got what was left of the edge's 5 s, not A's own 30 s.
        assert remaining is not None and 0 < remaining <= 5.0 + WIRE_ROUNDING_SECONDS
        assert ctx.deadline is not None
    [remaining_at_a] = hops.seen_a.time_remaining
    assert remaining_at_a is not None
    assert all(
        r is not None and r <= remaining_at_a + WIRE_ROUNDING_SECONDS
        for r in hops.seen_b.time_remaining
    )


async def test_a_shorter_explicit_timeout_wins(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    async with two_hops(server_config, upstream_timeout=1.0) as hops:
        await hops.front.GetMe(
            identity_pb2.GetMeRequest(), metadata=bearer(tokens.access()), timeout=20.0
        )

    assert len(hops.seen_b.time_remaining) == 2
    assert all(
        r is not None and 0 < r <= 1.0 + WIRE_ROUNDING_SECONDS for r in hops.seen_b.time_remaining
    )


async def test_calls_to_the_second_hop_are_measured(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    async with two_hops(server_config, upstream_timeout=10.0) as hops:
        await hops.front.GetMe(
            identity_pb2.GetMeRequest(), metadata=bearer(tokens.access()), timeout=5.0
        )

    def value(name: str, grpc_type: str, method: str, **extra: str) -> float | None:
        return hops.client_registry.get_sample_value(
            name,
            {
                "grpc_type": grpc_type,
                "grpc_service": "trademesh.notification.v1.NotificationService",
                "grpc_method": method,
                **extra,
            },
        )

    assert value("grpc_client_handled_total", "unary", "ListNotifications", grpc_code="OK") == 1
    assert (
        value("grpc_client_handled_total", "server_stream", "StreamNotifications", grpc_code="OK")
        == 1
    )
    assert value("grpc_client_msg_received_total", "server_stream", "StreamNotifications") == 2


def _details(
    metadata: grpc.aio.Metadata | None = None, timeout: float | None = None
) -> grpc.aio.ClientCallDetails:
    return grpc.aio.ClientCallDetails(
        "/trademesh.notification.v1.NotificationService/ListNotifications",
        timeout,
        metadata,
        None,
        None,
    )


_PRINCIPAL = Principal(
    user_id=USER_ID, session_id="s-1", roles=frozenset({"viewer"}), token="user-token"
)


def test_outside_a_call_nothing_is_added() -> None:
    details = propagated_details(_details(timeout=3.0))

    assert list(details.metadata or ()) == []
    assert details.timeout == 3.0


def test_what_the_call_sets_itself_is_kept() -> None:
    own = grpc.aio.Metadata(("authorization", "Bearer service-token"), ("x-correlation-id", "own"))
    with call_context.bind(correlation_id="inherited", principal=_PRINCIPAL):
        details = propagated_details(_details(own))

    assert details.metadata is not None
    assert details.metadata.get_all("authorization") == ["Bearer service-token"]
    assert details.metadata.get_all("x-correlation-id") == ["own"]


def test_context_is_added_to_the_metadata() -> None:
    with call_context.bind(
        correlation_id="inherited", principal=_PRINCIPAL, deadline=time.monotonic() + 2.0
    ):
        details = propagated_details(_details(grpc.aio.Metadata(("x-other", "1"))))

    assert details.metadata is not None
    assert details.metadata.get_all("authorization") == ["Bearer user-token"]
    assert details.metadata.get_all("x-correlation-id") == ["inherited"]
    assert details.metadata.get_all("x-other") == ["1"]
    assert details.timeout is not None and 1.5 < details.timeout <= 2.0


def test_a_spent_deadline_becomes_a_zero_timeout() -> None:
    with call_context.bind(deadline=time.monotonic() - 1.0):
        details = propagated_details(_details(timeout=10.0))

    assert details.timeout == 0.0


async def test_a_spent_deadline_fails_the_next_hop_without_sending_it(
    server_config: ServerInterceptorConfig,
) -> None:
    seen = Seen()
    interceptors = client_interceptors(ClientInterceptorConfig(registry=CollectorRegistry()))
    async with (
        serving(server_config, adding(Notifications(seen))) as server,
        grpc.aio.insecure_channel(server.address, interceptors=interceptors) as ch,
    ):
        stub = notification_pb2_grpc.NotificationServiceStub(ch)
        with call_context.bind(deadline=time.monotonic() - 1.0):
            with pytest.raises(grpc.aio.AioRpcError) as unary:
                await stub.ListNotifications(
                    notification_pb2.ListNotificationsRequest(), timeout=10
                )
            with pytest.raises(grpc.aio.AioRpcError) as stream:
                async for _ in stub.StreamNotifications(
                    notification_pb2.StreamNotificationsRequest(), timeout=10
                ):
                    pass

    assert unary.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert stream.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert seen.contexts == []
