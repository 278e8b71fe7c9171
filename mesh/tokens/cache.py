"""A JWK Set cache in front of the identity service, refreshed by TTL and on unknown kids."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mesh.tokens.errors import TokenError, TokenErrorReason
from mesh.tokens.jwks import parse_jwk_set

logger = logging.getLogger(__name__)

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


class JwksCache:
    """Caches the JWK Set returned by `fetch` for `ttl_seconds`.

    A token with an unknown kid (typically the first one after a key rotation) triggers one
    refetch, but fetches never start closer together than `min_refresh_interval_seconds`,
    so a flood of made-up kids cannot hammer identity. If a refresh fails the previous keys
    stay in use; with no keys at all, lookups fail with reason ``jwks_unavailable`` and the
    next lookup may try again after `cold_retry_seconds`. Concurrent lookups share a single
    fetch, bounded by `fetch_timeout_seconds`, which runs apart from the callers: a caller
    that goes away (deadline, disconnect) does not cut the fetch short for everyone else.
    """

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        ttl_seconds: float = 300.0,
        min_refresh_interval_seconds: float = 30.0,
        fetch_timeout_seconds: float = 5.0,
        cold_retry_seconds: float = 1.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (
            ("ttl_seconds", ttl_seconds),
            ("min_refresh_interval_seconds", min_refresh_interval_seconds),
            ("fetch_timeout_seconds", fetch_timeout_seconds),
            ("cold_retry_seconds", cold_retry_seconds),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"JwksCache {name} must be positive, got {value!r}")
        self._fetch = fetch
        self._ttl = float(ttl_seconds)
        self._min_interval = float(min_refresh_interval_seconds)
        self._fetch_timeout = float(fetch_timeout_seconds)
        self._cold_retry = float(cold_retry_seconds)
        self._now = now
        self._keys: dict[str, Ed25519PublicKey] | None = None
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._inflight: asyncio.Task[None] | None = None

    async def get_key(self, kid: str) -> Ed25519PublicKey:
        """The public key for `kid`; raises TokenError (unknown_kid, jwks_unavailable)."""
        # Past the TTL, refresh; but while another lookup is already refreshing, answer
        # from the keys we have rather than queue behind it.
        if self._is_stale() and (self._keys is None or self._inflight is None):
            await self._refresh()
        keys = self._keys
        if keys is not None and kid in keys:
            return keys[kid]
        if keys is not None:
            await self._refresh()
            keys = self._keys
        if keys is None:
            raise TokenError(TokenErrorReason.JWKS_UNAVAILABLE)
        key = keys.get(kid)
        if key is None:
            raise TokenError(TokenErrorReason.UNKNOWN_KID)
        return key

    async def refresh(self) -> bool:
        """Fetch now unless a fetch started within the rate limit; True if a set was loaded."""
        before = self._keys
        await self._refresh()
        return self._keys is not before

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._now() >= self._fetched_at + self._ttl

    async def _refresh(self) -> None:
        task = self._inflight
        if task is None:
            # A fetch started recently (or failed) is not repeated yet; with no keys at all
            # the wait is short, so a cold start recovers quickly.
            interval = self._min_interval if self._keys is not None else self._cold_retry
            if self._last_attempt is not None and self._now() - self._last_attempt < interval:
                return
            self._last_attempt = self._now()
            task = self._inflight = asyncio.create_task(self._fetch_once())
            task.add_done_callback(self._fetched)
        # Shielded: a cancelled caller leaves the shared fetch running for the others.
        await asyncio.shield(task)

    def _fetched(self, task: asyncio.Task[None]) -> None:
        if self._inflight is task:
            self._inflight = None

    async def _fetch_once(self) -> None:
        try:
            async with asyncio.timeout(self._fetch_timeout):
                document = await self._fetch()
            keys = parse_jwk_set(document)
        except Exception:
            logger.warning("JWKS fetch failed; keeping the previous keys", exc_info=True)
            return
        self._keys = keys
        self._fetched_at = self._now()
