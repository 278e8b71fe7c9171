"""Authenticating REST and Socket.IO callers at the edge: bearer tokens verified by the same
verifier the services use, each token once while it lives (not once per request), with
revocations winning over what was verified."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Protocol

from edge.auth import refusals
from edge.auth.access import authorize
from edge.auth.cache import VerifiedTokens
from edge.auth.config import EdgeAuthConfig
from interceptors import AccessTokenVerifier, RevocationCheck
from mesh.context import Principal
from mesh.lifecycle import Lifecycle
from mesh.options import AccessRule
from mesh.tokens import TokenError

logger = logging.getLogger(__name__)

_BEARER = "bearer"


class RevocationFeed(Protocol):
    """Tells of each newly revoked session (`mesh.tokens.revocations.RevokedSessions`)."""

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]: ...


class EdgeAuth(Lifecycle):
    """`authenticate` turns an Authorization header into a `Principal`; `authorize` applies
    a method's access rule to it.

    A verified token is cached until its `exp` (at most `cache_max_age_seconds`), so a hot
    path does not check a signature per request. Revocation still wins: `is_revoked` (a dict
    lookup) runs on every request, cache hit or not, and with `revocations` given, `start()`
    subscribes so a revoked session's tokens leave the cache at once. Concurrent requests
    carrying the same new token share one verification, which runs apart from them: a caller
    that goes away does not cut it short for the others, and its result is cached all the
    same. Works without `start()`; then only the per-request check guards revocation."""

    def __init__(
        self,
        verifier: AccessTokenVerifier,
        is_revoked: RevocationCheck,
        config: EdgeAuthConfig | None = None,
        *,
        revocations: RevocationFeed | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = verifier
        self._is_revoked = is_revoked
        self._config = config or EdgeAuthConfig()
        self._revocations = revocations
        self._now = now
        self._cache = VerifiedTokens(self._config.cache_max_entries)
        self._inflight: dict[str, asyncio.Task[Principal]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        if self._revocations is not None and self._unsubscribe is None:
            self._unsubscribe = self._revocations.subscribe(self.forget_session)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._cache.clear()

    @property
    def cached_tokens(self) -> int:
        return len(self._cache)

    def forget_session(self, session_id: str) -> None:
        """Drop the cached tokens of a revoked session (the revocation feed's callback)."""
        self._cache.forget_session(session_id)

    async def authenticate(self, authorization: str | None) -> Principal | None:
        """The caller of an `Authorization` header value; None without one. Raises `EdgeError`
        401 (TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED, SESSION_REVOKED) or 503
        (TOKEN_KEYS_UNAVAILABLE, SESSION_CHECK_UNAVAILABLE)."""
        if authorization is None:
            return None
        token = _bearer_token(authorization)
        principal = self._cache.get(token, self._now())
        if principal is None:
            principal = await self._verified(token)
        await self._check_session(principal.session_id)
        return principal

    def authorize(
        self, principal: Principal | None, access: AccessRule | None, *, method: str = "this method"
    ) -> None:
        """`edge.auth.authorize`: raises `EdgeError` 401/403 as the service would."""
        authorize(principal, access, method=method)

    async def _verified(self, token: str) -> Principal:
        task = self._inflight.get(token)
        if task is None:
            task = asyncio.create_task(self._verify(token))
            self._inflight[token] = task
            task.add_done_callback(partial(self._settled, token))
        try:
            # Shielded: a cancelled caller leaves the shared verification running.
            return await asyncio.shield(task)
        except TokenError as exc:
            raise refusals.token_refusal(exc) from None

    async def _verify(self, token: str) -> Principal:
        claims = await self._verifier.verify_access(token)
        principal = Principal(
            user_id=claims.subject,
            session_id=claims.session_id,
            roles=frozenset(claims.roles),
            token=token,
        )
        now = self._now()
        valid_until = min(float(claims.expires_at), now + self._config.cache_max_age_seconds)
        # A token accepted only within the verifier's leeway is not cached: it is re-verified.
        if valid_until > now:
            self._cache.put(principal, valid_until)
        return principal

    def _settled(self, token: str, task: asyncio.Task[Principal]) -> None:
        if self._inflight.get(token) is task:
            del self._inflight[token]

    async def _check_session(self, session_id: str) -> None:
        try:
            revoked = await self._is_revoked(session_id)
        except Exception:
            logger.exception("session revocation check failed")
            raise refusals.session_check_unavailable() from None
        if revoked:
            self._cache.forget_session(session_id)
            raise refusals.session_revoked()


def _bearer_token(authorization: str) -> str:
    parts = authorization.split()
    if not parts:
        raise refusals.token_missing()
    if len(parts) != 2 or parts[0].lower() != _BEARER:
        raise refusals.header_malformed()
    return parts[1]
