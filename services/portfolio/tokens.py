"""Checking callers' access tokens: identity's JWKS fetched through the mesh, and the sessions
identity announced as revoked on `identity.sessions.v1`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from trademesh.identity.v1 import events_pb2 as identity_events
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc

from mesh.client import MeshClient
from mesh.events import Delivery
from mesh.tokens import AsyncTokenVerifier, JwksCache, JwksFetcher, TokenConfig

_JWK_MEMBERS = ("kty", "crv", "x", "y", "kid", "alg", "use")
JWKS_TIMEOUT_SECONDS = 5.0
_PURGE_ABOVE = 10_000  # expired revocations are dropped when more are remembered


def identity_jwks(mesh: MeshClient) -> JwksFetcher:
    """Fetches identity's JWK Set with GetJwks through the mesh client."""

    async def fetch() -> Mapping[str, Any]:
        channel: Any = await mesh.connect("identity")  # a grpc.aio.Channel in all but name
        stub: identity_pb2_grpc.IdentityServiceAsyncStub = identity_pb2_grpc.IdentityServiceStub(
            channel
        )
        response = await stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=JWKS_TIMEOUT_SECONDS)
        return {
            "keys": [
                {name: getattr(key, name) for name in _JWK_MEMBERS if getattr(key, name)}
                for key in response.keys
            ]
        }

    return fetch


def identity_verifier(mesh: MeshClient, config: TokenConfig) -> AsyncTokenVerifier:
    return AsyncTokenVerifier(JwksCache(identity_jwks(mesh)), config)


class RevokedSessions:
    """Sessions revoked until their last access token expires; fed by a broadcast consumer of
    `identity.sessions.v1` read from the start, so a new instance knows earlier revocations."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._until: dict[str, float] = {}
        self._now = now

    def revoke(self, session_id: str, until: float) -> None:
        self._until[session_id] = max(until, self._until.get(session_id, 0.0))
        if len(self._until) > _PURGE_ABOVE:
            now = self._now()
            self._until = {sid: end for sid, end in self._until.items() if end >= now}

    async def is_revoked(self, session_id: str) -> bool:
        until = self._until.get(session_id)
        if until is None:
            return False
        if until < self._now():
            del self._until[session_id]
            return False
        return True

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.event
        if isinstance(event, identity_events.SessionRevoked) and event.session_id:
            expires = event.access_token_expire_time
            until = expires.ToNanoseconds() / 1e9 if expires.seconds else self._now() + 86400
            self.revoke(event.session_id, until)
