"""IdentityService over gRPC: each RPC unpacks its request, calls the domain, packs the answer.

The caller's principal comes from `mesh.context` (set by the auth interceptor); failures are
`DomainError`s, which the error interceptor turns into status codes.
"""

from __future__ import annotations

from typing import Any

import grpc
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc

from mesh import context as call_context
from mesh.context import Principal
from services.identity import convert
from services.identity.auth import AuthService
from services.identity.keys import SigningKeys
from services.identity.users import UserService

ServicerContext = grpc.aio.ServicerContext[Any, Any]


def _principal() -> Principal | None:
    return call_context.current().principal


def _bearer_token(context: ServicerContext) -> str:
    """The bearer token of the call's `authorization` metadata, or ""."""
    for key, value in context.invocation_metadata() or ():
        if key.lower() == "authorization" and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    return ""


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, auth: AuthService, users: UserService, keys: SigningKeys) -> None:
        self._auth = auth
        self._users = users
        self._keys = keys

    async def Register(
        self, request: identity_pb2.RegisterRequest, context: ServicerContext
    ) -> identity_pb2.RegisterResponse:
        signed_in = await self._auth.register(
            email=request.email, password=request.password, display_name=request.display_name
        )
        return identity_pb2.RegisterResponse(
            user=convert.user_message(signed_in.user),
            tokens=convert.token_pair_message(signed_in.tokens),
        )

    async def Login(
        self, request: identity_pb2.LoginRequest, context: ServicerContext
    ) -> identity_pb2.LoginResponse:
        signed_in = await self._auth.login(email=request.email, password=request.password)
        return identity_pb2.LoginResponse(
            tokens=convert.token_pair_message(signed_in.tokens),
            user=convert.user_message(signed_in.user),
        )

    async def Refresh(
        self, request: identity_pb2.RefreshRequest, context: ServicerContext
    ) -> identity_pb2.RefreshResponse:
        tokens = await self._auth.refresh(request.refresh_token)
        return identity_pb2.RefreshResponse(tokens=convert.token_pair_message(tokens))

    async def Logout(
        self, request: identity_pb2.LogoutRequest, context: ServicerContext
    ) -> identity_pb2.LogoutResponse:
        await self._auth.logout(_principal(), all_sessions=request.all_sessions)
        return identity_pb2.LogoutResponse()

    async def Validate(
        self, request: identity_pb2.ValidateRequest, context: ServicerContext
    ) -> identity_pb2.ValidateResponse:
        # Validate is public, so the interceptor may not have bound a principal: fall back
        # to the bearer token in the call's own metadata.
        token = request.token
        if not token:
            principal = _principal()
            token = principal.token if principal is not None else _bearer_token(context)
        return convert.validate_response(await self._auth.validate(token))

    async def GetMe(
        self, request: identity_pb2.GetMeRequest, context: ServicerContext
    ) -> identity_pb2.GetMeResponse:
        user = await self._users.get_me(_principal())
        return identity_pb2.GetMeResponse(user=convert.user_message(user))

    async def GetUser(
        self, request: identity_pb2.GetUserRequest, context: ServicerContext
    ) -> identity_pb2.GetUserResponse:
        user = await self._users.get_user(_principal(), request.user_id)
        return identity_pb2.GetUserResponse(user=convert.user_message(user))

    async def UpdateUser(
        self, request: identity_pb2.UpdateUserRequest, context: ServicerContext
    ) -> identity_pb2.UpdateUserResponse:
        update = convert.user_update(request)
        user = await self._users.update_user(_principal(), request.user_id, update)
        return identity_pb2.UpdateUserResponse(user=convert.user_message(user))

    async def DeleteUser(
        self, request: identity_pb2.DeleteUserRequest, context: ServicerContext
    ) -> identity_pb2.DeleteUserResponse:
        await self._users.delete_user(_principal(), request.user_id)
        return identity_pb2.DeleteUserResponse()

    async def ListUsers(
        self, request: identity_pb2.ListUsersRequest, context: ServicerContext
    ) -> identity_pb2.ListUsersResponse:
        role = None
        if request.role != identity_pb2.ROLE_UNSPECIFIED:
            role = convert.role_from_message(request.role, field="role")
        page = await self._users.list_users(
            _principal(), page_size=request.page_size, page_token=request.page_token, role=role
        )
        return identity_pb2.ListUsersResponse(
            users=[convert.user_message(user) for user in page.users],
            next_page_token=page.next_page_token,
        )

    async def GetJwks(
        self, request: identity_pb2.GetJwksRequest, context: ServicerContext
    ) -> identity_pb2.GetJwksResponse:
        # Another instance may have rotated; JWKS is fetched rarely, so reading is cheap.
        await self._keys.reload()
        return convert.jwks_response(self._keys.jwks())
