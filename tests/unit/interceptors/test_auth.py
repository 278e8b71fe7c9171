"""Access rules from the contracts' options, enforced on real servers with real tokens."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc
from trademesh.notification.v1 import notification_pb2, notification_pb2_grpc

from interceptors import AccessRule, AccessRules, ServerInterceptorConfig, status_details
from mesh.tokens import AsyncTokenVerifier, JwksCache, KeyRing, TokenConfig, TokenIssuer

from . import probe
from .conftest import (
    CALL_TIMEOUT_SECONDS,
    USER_ID,
    Revocations,
    Tokens,
    bearer,
    refusal,
    refused,
    serving,
)
from .servicers import Identity, Notifications, Seen, adding

T = CALL_TIMEOUT_SECONDS


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


@pytest.fixture
async def identity(server_config: ServerInterceptorConfig) -> Any:
    seen = Seen()
    async with (
        serving(server_config, adding(Identity(seen))) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        yield identity_pb2_grpc.IdentityServiceStub(channel), seen, channel


# --- public -------------------------------------------------------------------------------


async def test_public_method_needs_no_token(identity: Any) -> None:
    stub, seen, _ = identity
    request = identity_pb2.RegisterRequest(
        email="ada@example.com", password="correct horse", display_name="Ada"
    )

    response = await stub.Register(request, timeout=T)

    assert response.user.email == "ada@example.com"
    assert seen.last.principal is None


async def test_public_method_with_a_valid_token_sets_the_principal(
    identity: Any, tokens: Tokens
) -> None:
    stub, seen, _ = identity
    token = tokens.access("trader")

    response = await stub.Validate(
        identity_pb2.ValidateRequest(), metadata=bearer(token), timeout=T
    )

    assert (response.valid, response.user_id) == (True, USER_ID)
    principal = seen.last.principal
    assert principal is not None
    assert (principal.user_id, principal.roles, principal.token) == (
        USER_ID,
        frozenset({"trader"}),
        token,
    )


async def test_public_method_ignores_an_invalid_token(identity: Any, tokens: Tokens) -> None:
    stub, seen, _ = identity
    for token in (_tampered(tokens.access()), tokens.expired(), "not-a-jwt"):
        response = await stub.Validate(
            identity_pb2.ValidateRequest(), metadata=bearer(token), timeout=T
        )
        assert response.valid is False
        assert seen.last.principal is None


# --- roles --------------------------------------------------------------------------------


async def test_roles_method_without_a_token_is_unauthenticated(identity: Any) -> None:
    stub, seen, _ = identity

    refusal = await refused(stub.GetMe(identity_pb2.GetMeRequest(), timeout=T))

    assert refusal == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
    assert seen.contexts == []


@pytest.mark.parametrize(
    ("make_token", "reason", "token_error"),
    [
        (lambda t: t.expired(), "TOKEN_EXPIRED", "expired"),
        (lambda t: _tampered(t.access()), "TOKEN_INVALID", "bad_signature"),
        (
            lambda t: t.issuer.issue_refresh(subject=USER_ID, session_id="s").token,
            "TOKEN_INVALID",
            "wrong_type",
        ),
        (lambda t: "garbage", "TOKEN_INVALID", "malformed"),
    ],
    ids=["expired", "tampered", "refresh-token", "garbage"],
)
async def test_roles_method_rejects_bad_tokens(
    identity: Any,
    tokens: Tokens,
    make_token: Callable[[Tokens], str],
    reason: str,
    token_error: str,
) -> None:
    stub, seen, _ = identity

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.GetMe(
            identity_pb2.GetMeRequest(), metadata=bearer(make_token(tokens)), timeout=T
        )

    assert refusal(raised.value) == (grpc.StatusCode.UNAUTHENTICATED, reason)
    info = status_details(raised.value).find(error_details_pb2.ErrorInfo)
    assert info is not None and info.metadata["token_error"] == token_error
    assert seen.contexts == []


async def test_token_from_another_signing_key_is_rejected(
    identity: Any, token_config: TokenConfig
) -> None:
    stub, _, _ = identity
    stranger_ring = KeyRing.generate(retention_seconds=token_config.key_retention_seconds)
    foreign = TokenIssuer(token_config, stranger_ring).issue_access(
        subject=USER_ID, session_id="s", roles=["admin"]
    )

    refusal = await refused(
        stub.GetMe(identity_pb2.GetMeRequest(), metadata=bearer(foreign.token), timeout=T)
    )

    assert refusal == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwdw==", "Bearer", "Bearer two words", "token-without-scheme"],
)
async def test_malformed_authorization_is_unauthenticated(identity: Any, header: str) -> None:
    stub, _, _ = identity

    refusal = await refused(
        stub.GetMe(identity_pb2.GetMeRequest(), metadata=(("authorization", header),), timeout=T)
    )

    assert refusal == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MALFORMED")


async def test_roles_method_with_a_valid_token_binds_the_principal(
    identity: Any, tokens: Tokens
) -> None:
    stub, seen, _ = identity

    response = await stub.GetMe(
        identity_pb2.GetMeRequest(), metadata=bearer(tokens.access("viewer")), timeout=T
    )

    assert response.user.user_id == USER_ID
    assert seen.last.principal is not None and seen.last.principal.user_id == USER_ID
    assert seen.last.caller_service is None


async def test_a_missing_role_is_permission_denied(identity: Any, tokens: Tokens) -> None:
    stub, seen, _ = identity

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListUsers(
            identity_pb2.ListUsersRequest(),
            metadata=bearer(tokens.access("viewer", "trader")),
            timeout=T,
        )
    await stub.ListUsers(
        identity_pb2.ListUsersRequest(), metadata=bearer(tokens.access("admin")), timeout=T
    )

    assert refusal(raised.value) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED")
    assert len(seen.contexts) == 1  # only the admin's call reached the handler


async def test_a_revoked_session_is_unauthenticated(
    identity: Any, tokens: Tokens, revocations: Revocations
) -> None:
    stub, _, _ = identity
    token = tokens.access("viewer", session_id="session-to-revoke")
    await stub.GetMe(identity_pb2.GetMeRequest(), metadata=bearer(token), timeout=T)

    revocations.revoked.add("session-to-revoke")
    refusal = await refused(
        stub.GetMe(identity_pb2.GetMeRequest(), metadata=bearer(token), timeout=T)
    )

    assert refusal == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED")


async def test_server_streaming_methods_are_guarded_too(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    seen = Seen()
    async with (
        serving(server_config, adding(Notifications(seen))) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        stub = notification_pb2_grpc.NotificationServiceStub(channel)
        request = notification_pb2.StreamNotificationsRequest()
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in stub.StreamNotifications(request, timeout=T):
                pass
        titles = [
            response.notification.title
            async for response in stub.StreamNotifications(
                request, metadata=bearer(tokens.access("viewer")), timeout=T
            )
        ]

    assert refusal(raised.value) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
    assert titles == ["first", "second"]
    assert len(seen.contexts) == 1


# --- methods without a rule ------------------------------------------------------------------


async def test_a_method_without_an_access_option_is_denied(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        client = probe.ProbeClient(ch)
        anonymous = await refused(client.unguarded(probe.StringValue(), timeout=T))
        admin = await refused(
            client.unguarded(
                probe.StringValue(), metadata=bearer(tokens.access("admin")), timeout=T
            )
        )

    denied = (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_RULE_MISSING")
    assert anonymous == admin == denied


async def test_a_served_method_unknown_to_the_descriptors_is_denied(
    server_config: ServerInterceptorConfig,
) -> None:
    async def echo(request: bytes, context: Any) -> bytes:
        return request

    ghost = grpc.method_handlers_generic_handler(
        "trademesh.test.v1.Ghost", {"Call": grpc.unary_unary_rpc_method_handler(echo)}
    )
    async with (
        serving(server_config, lambda server: server.add_generic_rpc_handlers([ghost])) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await ch.unary_unary("/trademesh.test.v1.Ghost/Call")(b"hi", timeout=T)

    assert refusal(raised.value) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_RULE_MISSING")


async def test_an_empty_access_option_admits_any_signed_in_user(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        client = probe.ProbeClient(ch)
        anonymous = await refused(client.members(probe.StringValue(), timeout=T))
        response = await client.members(
            probe.StringValue(), metadata=bearer(tokens.access("viewer")), timeout=T
        )

    assert anonymous == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
    assert response.value.split("|")[1] == USER_ID


async def test_health_checks_need_no_rule(server_config: ServerInterceptorConfig) -> None:
    def add_health(server: grpc.aio.Server) -> None:
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)

    async with (
        serving(server_config, add_health) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        response = await health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=T
        )

    assert response.status == health_pb2.HealthCheckResponse.SERVING


# --- verifier and revocation failures -------------------------------------------------------


async def test_without_a_verifier_token_methods_are_unavailable_and_public_ones_work(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    config = dataclasses.replace(server_config, verifier=None)
    seen = Seen()
    async with (
        serving(config, adding(Identity(seen))) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        stub = identity_pb2_grpc.IdentityServiceStub(ch)
        refusal = await refused(
            stub.GetMe(identity_pb2.GetMeRequest(), metadata=bearer(tokens.access()), timeout=T)
        )
        response = await stub.Validate(
            identity_pb2.ValidateRequest(), metadata=bearer(tokens.access()), timeout=T
        )

    assert refusal == (grpc.StatusCode.UNAVAILABLE, "TOKEN_VERIFIER_MISSING")
    assert response.valid is False


async def test_unreachable_signing_keys_are_unavailable_not_unauthenticated(
    server_config: ServerInterceptorConfig, token_config: TokenConfig, tokens: Tokens
) -> None:
    async def identity_down() -> dict[str, Any]:
        raise ConnectionError("identity is down")

    config = dataclasses.replace(
        server_config, verifier=AsyncTokenVerifier(JwksCache(identity_down), token_config)
    )
    async with (
        serving(config, adding(Identity(Seen()))) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        refusal = await refused(
            identity_pb2_grpc.IdentityServiceStub(ch).GetMe(
                identity_pb2.GetMeRequest(), metadata=bearer(tokens.access()), timeout=T
            )
        )

    assert refusal == (grpc.StatusCode.UNAVAILABLE, "TOKEN_KEYS_UNAVAILABLE")


async def test_a_verifier_bug_is_internal_without_details(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    class BrokenVerifier:
        async def verify_access(self, token: str) -> Any:
            raise KeyError("secret verifier state")

    config = dataclasses.replace(server_config, verifier=BrokenVerifier())
    async with (
        serving(config, adding(Identity(Seen()))) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await identity_pb2_grpc.IdentityServiceStub(ch).GetMe(
                identity_pb2.GetMeRequest(), metadata=bearer(tokens.access()), timeout=T
            )

    assert raised.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (raised.value.details() or "")
    assert "internal error (correlation id " in (raised.value.details() or "")


async def test_a_failing_revocation_check_fails_closed(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    async def broken(session_id: str) -> bool:
        raise RuntimeError("session store is down")

    config = dataclasses.replace(server_config, is_revoked=broken)
    async with (
        serving(config, adding(Identity(Seen()))) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        refusal = await refused(
            identity_pb2_grpc.IdentityServiceStub(ch).GetMe(
                identity_pb2.GetMeRequest(), metadata=bearer(tokens.access()), timeout=T
            )
        )

    assert refusal == (grpc.StatusCode.UNAVAILABLE, "SESSION_CHECK_UNAVAILABLE")


# --- rule lookup ------------------------------------------------------------------------------


def test_rules_are_read_from_the_descriptors_and_cached() -> None:
    probe.register()
    rules = AccessRules()

    assert rules.lookup("/trademesh.identity.v1.IdentityService/Login") == AccessRule(public=True)
    assert rules.lookup("/trademesh.identity.v1.IdentityService/ListUsers") == AccessRule(
        roles=frozenset({"admin"})
    )
    reserve = rules.lookup("/trademesh.portfolio.v1.PortfolioService/ReserveCash")
    assert reserve == AccessRule(callers=frozenset({"trading"}))
    assert rules.lookup("/trademesh.portfolio.v1.PortfolioService/ReserveCash") is reserve
    assert rules.lookup(probe.method("Unguarded")) is None
    assert rules.lookup(probe.method("Members")) == AccessRule()
    assert rules.lookup("/no.such.Service/Method") is None
    assert rules.lookup("/grpc.health.v1.Health/Check") == AccessRule(public=True)
