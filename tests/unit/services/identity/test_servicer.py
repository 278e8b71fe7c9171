"""IdentityService over a real grpc.aio server on loopback, called through the generated stub.

The server runs one small interceptor defined here, standing in for the mesh's auth and
error interceptors: it binds the principal of a valid bearer token (except on public RPCs)
and turns a DomainError into the status with the same code.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf.field_mask_pb2 import FieldMask
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc

from mesh import context
from mesh.context import Principal
from mesh.errors import DomainError
from mesh.tokens import TokenError, TokenType, TokenVerifier
from services.identity import Identity, IdentityServicer
from tests.unit.services.identity.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, FakeClock

PUBLIC = frozenset({"Register", "Login", "Refresh", "Validate", "GetJwks"})
Stub = Any  # identity_pb2_grpc.IdentityServiceAsyncStub, which exists only in the .pyi


def _bearer(metadata: Any) -> str:
    for key, value in metadata or ():
        if key == "authorization" and value.startswith("Bearer "):
            return str(value.removeprefix("Bearer "))
    return ""


class StandInInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, identity: Identity) -> None:
        self._identity = identity

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = details.method.rsplit("/", 1)[-1]
        inner = handler.unary_unary
        keys = self._identity.keys

        async def behavior(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
            principal = None
            token = _bearer(ctx.invocation_metadata())
            if token and method not in PUBLIC:
                try:
                    claims = await keys.verify(token, TokenType.ACCESS)
                except TokenError:
                    await ctx.abort(grpc.StatusCode.UNAUTHENTICATED, "bad token")
                principal = Principal(
                    user_id=claims.subject,
                    session_id=claims.session_id,
                    roles=frozenset(claims.roles),
                    token=token,
                )
            with context.bind(principal=principal, correlation_id="test-correlation"):
                try:
                    return await inner(request, ctx)
                except DomainError as exc:
                    await ctx.abort(exc.code, exc.message)

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


@pytest_asyncio.fixture
async def stub(identity: Identity) -> AsyncIterator[Stub]:
    server = grpc.aio.server(interceptors=[StandInInterceptor(identity)])
    spec = identity.service_spec()
    for servicer in spec.servicers:
        servicer.add_to_server(servicer.implementation, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield identity_pb2_grpc.IdentityServiceStub(channel)
    finally:
        await server.stop(None)


def auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def expect_status(code: grpc.StatusCode, call: Awaitable[object]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == code, info.value.details()
    return info.value


async def register(stub: Stub, email: str) -> identity_pb2.RegisterResponse:
    response: identity_pb2.RegisterResponse = await stub.Register(
        identity_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="Someone")
    )
    return response


def test_the_service_spec_names_the_service(identity: Identity) -> None:
    spec = identity.service_spec()
    assert spec.name == "identity"
    assert [s.full_name for s in spec.servicers] == ["trademesh.identity.v1.IdentityService"]
    assert spec.servicers[0].implementation is identity.servicer
    assert list(spec.on_stop) == [identity.close]


def test_every_rpc_of_the_contract_is_implemented() -> None:
    service = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"]
    assert len(service.methods) == 11
    for method in service.methods:
        ours = getattr(IdentityServicer, method.name)
        assert ours is not getattr(identity_pb2_grpc.IdentityServiceServicer, method.name)
        assert inspect.iscoroutinefunction(ours), method.name


async def test_sign_up_in_refresh_validate_and_out(stub: Stub) -> None:
    registered = await register(stub, "Ada@Example.com")
    assert registered.user.email == "ada@example.com"
    assert list(registered.user.roles) == [identity_pb2.ROLE_VIEWER]
    assert registered.user.status == identity_pb2.USER_STATUS_ACTIVE
    assert registered.tokens.token_type == "Bearer"
    assert registered.tokens.expires_in == 900

    login = await stub.Login(identity_pb2.LoginRequest(email="ada@example.com", password=PASSWORD))
    tokens = login.tokens
    assert login.user.user_id == registered.user.user_id
    me = await stub.GetMe(identity_pb2.GetMeRequest(), metadata=auth(tokens.access_token))
    assert me.user.user_id == registered.user.user_id

    refreshed = (
        await stub.Refresh(identity_pb2.RefreshRequest(refresh_token=tokens.refresh_token))
    ).tokens
    assert refreshed.session_id == tokens.session_id

    valid = await stub.Validate(identity_pb2.ValidateRequest(token=refreshed.access_token))
    assert valid.valid and valid.user_id == registered.user.user_id
    assert list(valid.roles) == [identity_pb2.ROLE_VIEWER]
    assert valid.expire_time.seconds == refreshed.access_token_expire_time.seconds
    # No token in the request: the caller's own bearer token is introspected.
    own = await stub.Validate(identity_pb2.ValidateRequest(), metadata=auth(tokens.access_token))
    assert own.valid and own.session_id == tokens.session_id
    missing = await stub.Validate(identity_pb2.ValidateRequest())
    assert (missing.valid, missing.invalid_reason) == (False, "missing")

    await stub.Logout(identity_pb2.LogoutRequest(), metadata=auth(refreshed.access_token))
    after = await stub.Validate(identity_pb2.ValidateRequest(token=refreshed.access_token))
    assert (after.valid, after.invalid_reason) == (False, "revoked")
    await expect_status(
        grpc.StatusCode.UNAUTHENTICATED,
        stub.Refresh(identity_pb2.RefreshRequest(refresh_token=refreshed.refresh_token)),
    )
    # The registration's own session is separate and still live.
    still = await stub.Validate(identity_pb2.ValidateRequest(token=registered.tokens.access_token))
    assert still.valid


async def test_domain_errors_arrive_as_status_codes(stub: Stub) -> None:
    await register(stub, "ada@example.com")
    await expect_status(grpc.StatusCode.ALREADY_EXISTS, register(stub, "ada@example.com"))
    await expect_status(grpc.StatusCode.INVALID_ARGUMENT, register(stub, "not an email"))
    wrong = identity_pb2.LoginRequest(email="ada@example.com", password="wrong password")
    error = await expect_status(grpc.StatusCode.UNAUTHENTICATED, stub.Login(wrong))
    assert error.details() == "invalid email or password"
    await expect_status(grpc.StatusCode.UNAUTHENTICATED, stub.Login(wrong))
    await expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, stub.Login(wrong))
    await expect_status(grpc.StatusCode.UNAUTHENTICATED, stub.GetMe(identity_pb2.GetMeRequest()))


async def test_refresh_token_reuse_revokes_the_session(stub: Stub) -> None:
    tokens = (await register(stub, "ada@example.com")).tokens
    request = identity_pb2.RefreshRequest(refresh_token=tokens.refresh_token)
    rotated = (await stub.Refresh(request)).tokens
    await expect_status(grpc.StatusCode.UNAUTHENTICATED, stub.Refresh(request))
    result = await stub.Validate(identity_pb2.ValidateRequest(token=rotated.access_token))
    assert result.invalid_reason == "revoked"


async def test_user_management(stub: Stub, clock: FakeClock) -> None:
    admin = (
        await stub.Login(identity_pb2.LoginRequest(email=ADMIN_EMAIL, password=ADMIN_PASSWORD))
    ).tokens
    users = []
    for i in range(3):
        clock.advance(1)
        users.append(await register(stub, f"user{i}@example.com"))
    ada = users[0]

    await expect_status(
        grpc.StatusCode.PERMISSION_DENIED,
        stub.ListUsers(identity_pb2.ListUsersRequest(), metadata=auth(ada.tokens.access_token)),
    )
    first = await stub.ListUsers(
        identity_pb2.ListUsersRequest(page_size=2), metadata=auth(admin.access_token)
    )
    second = await stub.ListUsers(
        identity_pb2.ListUsersRequest(page_size=2, page_token=first.next_page_token),
        metadata=auth(admin.access_token),
    )
    assert [u.email for u in [*first.users, *second.users]] == [
        ADMIN_EMAIL,
        "user0@example.com",
        "user1@example.com",
        "user2@example.com",
    ]
    assert second.next_page_token == ""
    admins = await stub.ListUsers(
        identity_pb2.ListUsersRequest(role=identity_pb2.ROLE_ADMIN),
        metadata=auth(admin.access_token),
    )
    assert [u.email for u in admins.users] == [ADMIN_EMAIL]

    # A user edits their own name; the roles in the message are ignored (not in the mask).
    own = await stub.UpdateUser(
        identity_pb2.UpdateUserRequest(
            user_id=ada.user.user_id,
            user=identity_pb2.User(display_name="Ada", roles=[identity_pb2.ROLE_ADMIN]),
            update_mask=FieldMask(paths=["display_name"]),
        ),
        metadata=auth(ada.tokens.access_token),
    )
    assert (own.user.display_name, list(own.user.roles)) == ("Ada", [identity_pb2.ROLE_VIEWER])
    grant = identity_pb2.UpdateUserRequest(
        user_id=ada.user.user_id,
        user=identity_pb2.User(roles=[identity_pb2.ROLE_TRADER, identity_pb2.ROLE_VIEWER]),
        update_mask=FieldMask(paths=["roles"]),
    )
    await expect_status(
        grpc.StatusCode.PERMISSION_DENIED,
        stub.UpdateUser(grant, metadata=auth(ada.tokens.access_token)),
    )
    granted = await stub.UpdateUser(grant, metadata=auth(admin.access_token))
    assert list(granted.user.roles) == [identity_pb2.ROLE_VIEWER, identity_pb2.ROLE_TRADER]
    unspecified = identity_pb2.UpdateUserRequest(
        user_id=ada.user.user_id,
        user=identity_pb2.User(roles=[identity_pb2.ROLE_UNSPECIFIED]),
        update_mask=FieldMask(paths=["roles"]),
    )
    await expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        stub.UpdateUser(unspecified, metadata=auth(admin.access_token)),
    )

    bob = users[1].user.user_id
    got = await stub.GetUser(
        identity_pb2.GetUserRequest(user_id=bob), metadata=auth(admin.access_token)
    )
    assert got.user.email == "user1@example.com"
    await stub.DeleteUser(
        identity_pb2.DeleteUserRequest(user_id=bob), metadata=auth(admin.access_token)
    )
    await stub.DeleteUser(
        identity_pb2.DeleteUserRequest(user_id=bob), metadata=auth(admin.access_token)
    )
    await expect_status(
        grpc.StatusCode.NOT_FOUND,
        stub.GetUser(identity_pb2.GetUserRequest(user_id=bob), metadata=auth(admin.access_token)),
    )


async def test_jwks_verifies_issued_tokens(
    stub: Stub, identity: Identity, clock: FakeClock
) -> None:
    tokens = (await register(stub, "ada@example.com")).tokens
    response = await stub.GetJwks(identity_pb2.GetJwksRequest())
    (key,) = response.keys
    assert (key.kty, key.crv, key.alg, key.use) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert key.kid == identity.keys.ring.current.kid
    document = {"keys": [{k: v for k, v in _fields(key).items() if v} for key in response.keys]}
    verifier = TokenVerifier(document, identity.keys.config, now=clock)
    assert verifier.verify_access(tokens.access_token).subject

    await identity.rotate_keys()
    rotated = await stub.GetJwks(identity_pb2.GetJwksRequest())
    assert [k.kid for k in rotated.keys][1] == key.kid


def _fields(key: identity_pb2.Jwk) -> dict[str, str]:
    return {name: getattr(key, name) for name in ("kty", "crv", "x", "y", "kid", "alg", "use")}
