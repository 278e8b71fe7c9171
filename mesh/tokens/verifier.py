"""Token verification against a JWK Set, either fixed or fetched through a JwksCache."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from mesh.tokens._verify import read_kid, verify_with_key
from mesh.tokens.cache import JwksCache
from mesh.tokens.claims import Claims, TokenType
from mesh.tokens.config import TokenConfig
from mesh.tokens.errors import TokenError, TokenErrorReason
from mesh.tokens.jwks import parse_jwk_set


class TokenVerifier:
    """Verifies EdDSA tokens against a fixed JWK Set.

    Every rejection raises `TokenError` with a `reason`; messages never quote the token.
    """

    def __init__(
        self,
        jwks: Mapping[str, Any],
        config: TokenConfig,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._keys = parse_jwk_set(jwks)
        self._config = config
        self._now = now

    def verify(self, token: str, expected_type: TokenType) -> Claims:
        key = self._keys.get(read_kid(token))
        if key is None:
            raise TokenError(TokenErrorReason.UNKNOWN_KID)
        return verify_with_key(token, key, expected_type, self._config, self._now())

    def verify_access(self, token: str) -> Claims:
        return self.verify(token, TokenType.ACCESS)

    def verify_refresh(self, token: str) -> Claims:
        return self.verify(token, TokenType.REFRESH)


class AsyncTokenVerifier:
    """Verifies EdDSA tokens against keys from a `JwksCache` (identity's JWKS)."""

    def __init__(
        self,
        cache: JwksCache,
        config: TokenConfig,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._cache = cache
        self._config = config
        self._now = now

    async def verify(self, token: str, expected_type: TokenType) -> Claims:
        key = await self._cache.get_key(read_kid(token))
        return verify_with_key(token, key, expected_type, self._config, self._now())

    async def verify_access(self, token: str) -> Claims:
        return await self.verify(token, TokenType.ACCESS)

    async def verify_refresh(self, token: str) -> Claims:
        return await self.verify(token, TokenType.REFRESH)
