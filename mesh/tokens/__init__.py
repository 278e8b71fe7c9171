"""User tokens: Ed25519 signing keys, JWKS, issuing and verifying access/refresh JWTs."""

from __future__ import annotations

from mesh.tokens.cache import JwksCache, JwksFetcher
from mesh.tokens.claims import Claims, TokenType
from mesh.tokens.config import TokenConfig
from mesh.tokens.errors import KeyRingError, TokenError, TokenErrorReason
from mesh.tokens.issuer import IssuedToken, TokenIssuer
from mesh.tokens.jwks import jwk_set, jwk_thumbprint, parse_jwk_set, public_jwk
from mesh.tokens.keys import KeyRing, SigningKey
from mesh.tokens.verifier import AsyncTokenVerifier, TokenVerifier

__all__ = [
    "AsyncTokenVerifier",
    "Claims",
    "IssuedToken",
    "JwksCache",
    "JwksFetcher",
    "KeyRing",
    "KeyRingError",
    "SigningKey",
    "TokenConfig",
    "TokenError",
    "TokenErrorReason",
    "TokenIssuer",
    "TokenType",
    "TokenVerifier",
    "jwk_set",
    "jwk_thumbprint",
    "parse_jwk_set",
    "public_jwk",
]
