"""Verifying user tokens outside identity: its JWK Set fetched over the mesh, then cached."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc

from mesh.client import MeshClient
from mesh.tokens.cache import JwksCache, JwksFetcher
from mesh.tokens.config import TokenConfig
from mesh.tokens.verifier import AsyncTokenVerifier

_JWK_MEMBERS = ("kty", "crv", "x", "y", "kid", "alg", "use")
JWKS_TIMEOUT_SECONDS = 5.0


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
    """The auth interceptor's verifier in every service but identity."""
    return AsyncTokenVerifier(JwksCache(identity_jwks(mesh)), config)
