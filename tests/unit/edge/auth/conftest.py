"""Real tokens for the edge auth tests: a key ring and issuer on a hand-driven clock, the real
JWKS-backed verifier over that ring's JWK Set, and RevokedSessions as the revocation source."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from google.rpc import error_details_pb2

from edge.auth import EdgeAuth, EdgeAuthConfig
from edge.errors import EdgeError
from mesh.tokens import (
    AsyncTokenVerifier,
    Claims,
    IssuedToken,
    JwksCache,
    KeyRing,
    TokenConfig,
    TokenIssuer,
)
from mesh.tokens.revocations import RevokedSessions

START = 1_750_000_000.0


class FakeClock:
    def __init__(self, start: float = START) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


class CountingVerifier:
    """The real verifier, counting calls; with `gate` set, each call waits for it first."""

    def __init__(self, inner: AsyncTokenVerifier) -> None:
        self.inner = inner
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def verify_access(self, token: str) -> Claims:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        return await self.inner.verify_access(token)


class RecordingFeed:
    """RevokedSessions' subscribe, counting who is subscribed."""

    def __init__(self, revoked: RevokedSessions) -> None:
        self.revoked = revoked
        self.subscribed = 0

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        unsubscribe = self.revoked.subscribe(callback)
        self.subscribed += 1

        def undo() -> None:
            self.subscribed -= 1
            unsubscribe()

        return undo


@dataclass
class World:
    clock: FakeClock
    config: TokenConfig
    ring: KeyRing
    issuer: TokenIssuer
    verifier: CountingVerifier
    revoked: RevokedSessions
    feed: RecordingFeed

    def access(
        self, roles: Sequence[str] = ("trader",), *, session_id: str | None = None
    ) -> IssuedToken:
        return self.issuer.issue_access(
            subject=f"user-{uuid.uuid4().hex[:6]}",
            session_id=session_id or str(uuid.uuid4()),
            roles=tuple(roles),
        )

    def auth(self, config: EdgeAuthConfig | None = None, **kwargs: Any) -> EdgeAuth:
        return EdgeAuth(
            self.verifier,
            self.revoked.is_revoked,
            config,
            revocations=self.feed,
            now=self.clock,
            **kwargs,
        )


@pytest.fixture
def world() -> World:
    clock = FakeClock()
    config = TokenConfig(issuer="https://identity.trademesh.test", audience="trademesh")
    ring = KeyRing.generate(retention_seconds=config.key_retention_seconds, now=clock)

    async def jwks() -> dict[str, Any]:
        return ring.jwks()

    verifier = AsyncTokenVerifier(JwksCache(jwks), config, now=clock)
    revoked = RevokedSessions(now=clock)
    return World(
        clock=clock,
        config=config,
        ring=ring,
        issuer=TokenIssuer(config, ring, now=clock),
        verifier=CountingVerifier(verifier),
        revoked=revoked,
        feed=RecordingFeed(revoked),
    )


def bearer(issued: IssuedToken) -> str:
    return f"Bearer {issued.token}"


def reason_of(error: EdgeError) -> tuple[int, str, dict[str, str]]:
    """HTTP status, ErrorInfo reason and metadata of a refusal."""
    for item in error.status.details:
        info = error_details_pb2.ErrorInfo()
        if item.Unpack(info):
            return error.http_status, info.reason, dict(info.metadata)
    raise AssertionError(f"no ErrorInfo in {error.status}")
