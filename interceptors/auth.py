"""Who may call each RPC, as its `trademesh.options.v1.access` option declares.

The rules, applied in this order (see options.proto):
1. `public: true`: anyone; a valid bearer token still sets the principal, an invalid one is
   ignored.
2. `callers: [...]`: the mTLS peer must be one of these services; a forwarded user token is
   verified when present.
3. otherwise a valid access token is required, holding one of `roles` when any are listed.
An RPC without the option is refused: access is never granted by omission.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import aclosing
from typing import Any, Protocol

from google.protobuf import descriptor_pool

from interceptors._handlers import (
    Context,
    RpcInfo,
    ServerInterceptorBase,
    StreamNext,
    UnaryNext,
    metadata_values,
    peer_service,
)
from interceptors._verified import VerifiedTokens
from interceptors.errors import abort_internal, abort_with
from mesh import context as call_context
from mesh.context import Principal
from mesh.errors import DomainError, PermissionDenied, Unauthenticated, Unavailable
from mesh.options import PUBLIC, AccessRule, access_of
from mesh.rpc import AUTHORIZATION_KEY
from mesh.tokens import Claims, TokenError
from mesh.tokens.refusals import token_refusal

logger = logging.getLogger(__name__)

_BEARER = "bearer"

# Methods of the standard services every server runs (health checks by Consul and the mesh
# client, reflection for grpcurl). Their protos carry no trademesh access option.
STANDARD_PUBLIC_METHODS = frozenset(
    {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.health.v1.Health/List",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    }
)


class AccessTokenVerifier(Protocol):
    """Verifies a user access token (`mesh.tokens.AsyncTokenVerifier` is one)."""

    async def verify_access(self, token: str) -> Claims: ...


RevocationCheck = Callable[[str], Awaitable[bool]]
"""`is_revoked(session_id)`: whether a session was revoked (logout, refresh token reuse)."""


_PUBLIC = PUBLIC


class AccessRules:
    """The access rule of each method, read from the descriptor pool once per method."""

    def __init__(
        self,
        pool: descriptor_pool.DescriptorPool | None = None,
        *,
        public_methods: Iterable[str] = STANDARD_PUBLIC_METHODS,
    ) -> None:
        self._pool = pool or descriptor_pool.Default()
        self._cache: dict[str, AccessRule | None] = dict.fromkeys(public_methods, _PUBLIC)

    def lookup(self, full_method: str) -> AccessRule | None:
        """The rule for `/pkg.Service/Method`, or None when the method declares none."""
        try:
            return self._cache[full_method]
        except KeyError:
            rule = self._cache[full_method] = self._read(full_method)
            return rule

    def _read(self, full_method: str) -> AccessRule | None:
        try:
            method = self._pool.FindMethodByName(full_method.lstrip("/").replace("/", "."))
        except KeyError:
            return None
        return access_of(method)


class Refused(Exception):
    """An access check said no: the call is answered with `error`."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


_Refused = Refused


class AccessControl:
    """The access checks of one call as plain calls, shared by every server chain.

    Verified tokens are kept (`VerifiedTokens`) until they expire; the session's revocation
    is still asked on every call.
    """

    def __init__(
        self,
        verifier: AccessTokenVerifier | None,
        *,
        is_revoked: RevocationCheck | None = None,
        rules: AccessRules | None = None,
        verified: VerifiedTokens | None = None,
    ) -> None:
        self._verifier = verifier
        self._is_revoked = is_revoked
        self.rules = rules or AccessRules()
        self._verified = verified if verified is not None else VerifiedTokens()

    async def check(
        self,
        full_method: str,
        rule: AccessRule | None,
        caller: str | None,
        token: str | _Malformed | None,
    ) -> Principal | None:
        """The call's principal, if any; raises `Refused` when the call may not proceed."""
        if rule is None:
            raise _Refused(
                PermissionDenied(
                    f"{full_method} declares no access rule",
                    reason="ACCESS_RULE_MISSING",
                )
            )
        if rule.public:
            return await self._optional_principal(token)
        if rule.callers:
            if caller is None:
                raise _Refused(
                    Unauthenticated("caller service identity is missing", reason="PEER_UNKNOWN")
                )
            if caller not in rule.callers:
                raise _Refused(
                    PermissionDenied(
                        f"service {caller} may not call {full_method}",
                        reason="CALLER_NOT_ALLOWED",
                        metadata={"caller": caller},
                    )
                )
            return None if token is None else await self._principal(token)
        if token is None:
            raise _Refused(Unauthenticated("access token is missing", reason="TOKEN_MISSING"))
        principal = await self._principal(token)
        if rule.roles and not principal.roles & rule.roles:
            raise _Refused(
                PermissionDenied(
                    f"{full_method} requires one of the roles {', '.join(sorted(rule.roles))}",
                    reason="ROLE_REQUIRED",
                    metadata={"required_roles": ",".join(sorted(rule.roles))},
                )
            )
        return principal

    async def _optional_principal(self, token: str | _Malformed | None) -> Principal | None:
        if token is None or self._verifier is None:
            return None
        try:
            return await self._principal(token)
        except _Refused:
            return None  # a public method answers anyone; a bad token just sets no principal

    async def _principal(self, token: str | _Malformed) -> Principal:
        if isinstance(token, _Malformed):
            raise _Refused(
                Unauthenticated(
                    "authorization metadata must be a single 'Bearer <token>'",
                    reason="TOKEN_MALFORMED",
                )
            )
        if self._verifier is None:
            logger.error("an access token must be verified but no token verifier is configured")
            raise _Refused(
                Unavailable("access tokens cannot be verified", reason="TOKEN_VERIFIER_MISSING")
            )
        claims = self._verified.get(token)
        if claims is None:
            try:
                claims = await self._verifier.verify_access(token)
            except TokenError as exc:
                raise _Refused(token_refusal(exc)) from None
            self._verified.put(token, claims)
        if self._is_revoked is not None:
            await _check_session(self._is_revoked, claims.session_id)
        return Principal(
            user_id=claims.subject,
            session_id=claims.session_id,
            roles=frozenset(claims.roles),
            token=token,
        )


class AuthInterceptor(ServerInterceptorBase):
    """Enforces access rules and binds `principal` and `caller_service` into mesh.context."""

    def __init__(
        self,
        verifier: AccessTokenVerifier | None,
        *,
        is_revoked: RevocationCheck | None = None,
        rules: AccessRules | None = None,
    ) -> None:
        self._access = AccessControl(verifier, is_revoked=is_revoked, rules=rules)

    async def intercept_unary_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: UnaryNext
    ) -> Any:
        principal, caller = await self._admit(info, context)
        with call_context.bind(principal=principal, caller_service=caller):
            return await proceed(request, context)

    async def intercept_stream_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: StreamNext
    ) -> AsyncIterator[Any]:
        principal, caller = await self._admit(info, context)
        with call_context.bind(principal=principal, caller_service=caller):
            async with aclosing(proceed(request, context)) as responses:
                async for response in responses:
                    yield response

    async def _admit(self, info: RpcInfo, context: Context) -> tuple[Principal | None, str | None]:
        caller = peer_service(context)
        token = bearer_token(metadata_values(context.invocation_metadata(), AUTHORIZATION_KEY))
        rule = self._access.rules.lookup(info.full_method)
        return await admit(self._access, context, info.full_method, rule, caller, token), caller


async def admit(
    access: AccessControl,
    context: Context,
    full_method: str,
    rule: AccessRule | None,
    caller: str | None,
    token: str | _Malformed | None,
) -> Principal | None:
    """`access.check`, answering the call when it says no (raises grpc's AbortError)."""
    try:
        return await access.check(full_method, rule, caller, token)
    except _Refused as refused:
        await abort_with(context, refused.error)
    except Exception as exc:  # a verifier bug must not reach the caller as UNKNOWN
        await abort_internal(context, exc)


async def _check_session(is_revoked: RevocationCheck, session_id: str) -> None:
    try:
        revoked = await is_revoked(session_id)
    except Exception:
        logger.exception("session revocation check failed")
        raise _Refused(
            Unavailable("session state is unavailable", reason="SESSION_CHECK_UNAVAILABLE")
        ) from None
    if revoked:
        raise _Refused(Unauthenticated("session has been revoked", reason="SESSION_REVOKED"))


class _Malformed:
    """An authorization header that is present but not one `Bearer <token>`."""


_MALFORMED = _Malformed()


def bearer_token(values: list[str]) -> str | _Malformed | None:
    """The token of the `authorization` metadata values; a malformed marker when they are not
    one `Bearer <token>`."""
    if not values:
        return None
    if len(values) > 1:
        return _MALFORMED
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip()
    if scheme.lower() != _BEARER or not token or " " in token:
        return _MALFORMED
    return token
