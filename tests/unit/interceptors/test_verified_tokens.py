"""Verified access tokens are kept until they expire; refusals and revocations never are."""

from __future__ import annotations

import dataclasses
from typing import Any

import grpc
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc

from interceptors import ServerInterceptorConfig
from interceptors._verified import VerifiedTokens
from mesh.tokens import AsyncTokenVerifier, Claims, TokenType

from .conftest import CALL_TIMEOUT_SECONDS, Revocations, Tokens, bearer, refused, serving
from .servicers import Identity, Seen, adding


def claims(expires_at: int) -> Claims:
    return Claims("user", "session", ("viewer",), "jti", 0, expires_at, TokenType.ACCESS)


def test_a_token_is_kept_until_it_expires() -> None:
    now = [1000.0]
    verified = VerifiedTokens(now=lambda: now[0])
    verified.put("a", claims(expires_at=1010))

    assert verified.get("a") == claims(expires_at=1010)
    now[0] = 1010.0
    assert verified.get("a") is None
    assert len(verified) == 0


def test_an_expired_token_is_not_kept() -> None:
    verified = VerifiedTokens(now=lambda: 2000.0)
    verified.put("a", claims(expires_at=1999))

    assert verified.get("a") is None


def test_the_least_recently_used_token_goes_first() -> None:
    verified = VerifiedTokens(max_tokens=2, now=lambda: 0.0)
    verified.put("a", claims(expires_at=10))
    verified.put("b", claims(expires_at=10))
    verified.get("a")
    verified.put("c", claims(expires_at=10))

    assert verified.get("b") is None
    assert verified.get("a") is not None and verified.get("c") is not None
    assert len(verified) == 2


class CountingVerifier:
    def __init__(self, inner: AsyncTokenVerifier) -> None:
        self.inner = inner
        self.calls = 0

    async def verify_access(self, token: str) -> Claims:
        self.calls += 1
        return await self.inner.verify_access(token)


async def test_a_token_is_verified_once_and_its_session_checked_on_every_call(
    server_config: ServerInterceptorConfig,
    verifier: AsyncTokenVerifier,
    tokens: Tokens,
    revocations: Revocations,
) -> None:
    counting = CountingVerifier(verifier)
    config = dataclasses.replace(server_config, verifier=counting)
    seen = Seen()

    token = tokens.access("viewer", session_id="cached-session")
    async with (
        serving(config, adding(Identity(seen))) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        stub: Any = identity_pb2_grpc.IdentityServiceStub(ch)
        for _ in range(3):
            await stub.GetMe(
                identity_pb2.GetMeRequest(), metadata=bearer(token), timeout=CALL_TIMEOUT_SECONDS
            )
        revocations.revoked.add("cached-session")
        refusal = await refused(
            stub.GetMe(
                identity_pb2.GetMeRequest(), metadata=bearer(token), timeout=CALL_TIMEOUT_SECONDS
            )
        )
        bad = await refused(
            stub.GetMe(
                identity_pb2.GetMeRequest(),
                metadata=bearer(tokens.expired("viewer")),
                timeout=CALL_TIMEOUT_SECONDS,
            )
        )

    assert counting.calls == 2  # the good token once, the expired one once
    assert refusal == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED")
    assert bad[0] == grpc.StatusCode.UNAUTHENTICATED
    assert len(seen.contexts) == 3
