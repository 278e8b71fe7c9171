"""User tokens are verified against identity's JWKS, fetched over the mesh and cached."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc

from mesh.client import MeshClient
from mesh.tokens import AsyncTokenVerifier, JwksCache, JwksFetcher, TokenConfig

_JWK_MEMBERS = ("kty", "crv", "x", "y", "kid", "alg", "use")
FETCH_TIMEOUT_SECONDS = 5.0


def identity_jwks(client: MeshClient) -> JwksFetcher:
    """Fetches the JWK Set from identity's GetJwks through `client`."""

    async def fetch() -> Mapping[str, Any]:
        channel: Any = await client.connect("identity")  # a grpc.aio.Channel in all but name
        stub: identity_pb2_grpc.IdentityServiceAsyncStub = identity_pb2_grpc.IdentityServiceStub(
            channel
        )
        response = await stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=FETCH_TIMEOUT_SECONDS)
        keys = [
            {name: getattr(key, name) for name in _JWK_MEMBERS if getattr(key, name)}
            for key in response.keys
        ]
        return {"keys": keys}

    return fetch


def identity_verifier(client: MeshClient, config: TokenConfig) -> AsyncTokenVerifier:
    return AsyncTokenVerifier(JwksCache(identity_jwks(client)), config)
