"""The signing key ring, persisted in the store and shared by every identity instance.

Each instance holds the ring in memory to sign with. Rotation saves a new ring version;
other instances pick it up when they next reload (on a JWKS request, or when they meet a
token signed with a key they do not know yet).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mesh.tokens import (
    Claims,
    KeyRing,
    TokenConfig,
    TokenError,
    TokenErrorReason,
    TokenIssuer,
    TokenType,
    TokenVerifier,
)
from services.identity.store import KeyRingConflict, Store

logger = logging.getLogger(__name__)

# A token naming an unknown kid makes us re-read the store at most this often, so made-up
# kids cannot turn into a query per request.
UNKNOWN_KID_RELOAD_INTERVAL_SECONDS = 5.0


class SigningKeys:
    def __init__(self, store: Store, config: TokenConfig, *, now: Callable[[], float]) -> None:
        self._store = store
        self._config = config
        self._now = now
        self._ring: KeyRing | None = None
        self._version = 0
        self._issuer: TokenIssuer | None = None
        self._verifier: TokenVerifier | None = None
        self._last_kid_reload: float | None = None

    @property
    def config(self) -> TokenConfig:
        return self._config

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:
            raise RuntimeError("signing keys are not loaded; call load() first")
        return self._ring

    @property
    def issuer(self) -> TokenIssuer:
        if self._issuer is None:
            self._issuer = TokenIssuer(self._config, self.ring, now=self._now)
        return self._issuer

    def _use(self, ring: KeyRing, version: int) -> None:
        self._ring, self._version = ring, version
        self._issuer = None
        self._verifier = None

    def _parse(self, data: dict[str, Any]) -> KeyRing:
        return KeyRing.from_dict(
            data, retention_seconds=self._config.key_retention_seconds, now=self._now
        )

    async def load(self) -> None:
        """Load the stored ring, creating and storing the first one if there is none."""
        stored = await self._store.load_key_ring()
        if stored is not None:
            self._use(self._parse(stored.data), stored.version)
            return
        ring = KeyRing.generate(retention_seconds=self._config.key_retention_seconds, now=self._now)
        try:
            version = await self._store.save_key_ring(
                ring.to_dict(), expected_version=None, now=self._now()
            )
        except KeyRingConflict:
            # Another instance stored the first ring while we generated ours: use theirs.
            await self.reload()
            return
        logger.info("created the signing key ring with key %s", ring.current.kid)
        self._use(ring, version)

    async def reload(self) -> bool:
        """Pick up a ring another instance saved; True if it changed."""
        stored = await self._store.load_key_ring()
        if stored is None:
            raise RuntimeError("the signing key ring disappeared from the store")
        if self._ring is not None and stored.version == self._version:
            return False
        self._use(self._parse(stored.data), stored.version)
        return True

    async def rotate(self) -> str:
        """Make a new key current, keeping retired ones published until their tokens have
        expired; returns the current kid. If another instance rotated at the same moment,
        its rotation stands and no second one is made."""
        await self.reload()
        ring = self._parse(self.ring.to_dict())
        new = ring.rotate()
        try:
            version = await self._store.save_key_ring(
                ring.to_dict(), expected_version=self._version, now=self._now()
            )
        except KeyRingConflict:
            await self.reload()
            return self.ring.current.kid
        self._use(ring, version)
        logger.info("rotated signing keys; current key is %s", new.kid)
        return new.kid

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return self.ring.jwks()

    def _verifier_now(self) -> TokenVerifier:
        if self._verifier is None:
            self._verifier = TokenVerifier(self.ring.jwks(), self._config, now=self._now)
        return self._verifier

    async def verify(self, token: str, expected_type: TokenType) -> Claims:
        """Verify a token we issued; raises TokenError."""
        try:
            return self._verifier_now().verify(token, expected_type)
        except TokenError as exc:
            if exc.reason is not TokenErrorReason.UNKNOWN_KID or not await self._reload_for_kid():
                raise
        return self._verifier_now().verify(token, expected_type)

    async def verify_access(self, token: str) -> Claims:
        """The auth interceptor's verifier on identity's own server: no JWKS round trip."""
        return await self.verify(token, TokenType.ACCESS)

    async def _reload_for_kid(self) -> bool:
        now = self._now()
        last = self._last_kid_reload
        if last is not None and 0 <= now - last < UNKNOWN_KID_RELOAD_INTERVAL_SECONDS:
            return False
        self._last_kid_reload = now
        return await self.reload()
