"""Ed25519 signing keys and the key ring that rotates and retires them."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from mesh.tokens.errors import KeyRingError
from mesh.tokens.jwks import jwk_set, jwk_thumbprint, public_jwk

_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One Ed25519 key; `kid` is the RFC 7638 thumbprint of its public JWK."""

    kid: str
    private_key: Ed25519PrivateKey = dataclasses.field(repr=False, compare=False)
    created_at: float
    retired_at: float | None = None

    @classmethod
    def generate(cls, *, created_at: float) -> SigningKey:
        private_key = Ed25519PrivateKey.generate()
        return cls(
            kid=jwk_thumbprint(private_key.public_key()),
            private_key=private_key,
            created_at=created_at,
        )

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.public_key, self.kid)

    def to_dict(self) -> dict[str, Any]:
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return {
            "kid": self.kid,
            "private_key_pem": pem.decode("ascii"),
            "created_at": self.created_at,
            "retired_at": self.retired_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SigningKey:
        if not isinstance(data, Mapping):
            raise KeyRingError("signing key must be an object")
        kid, pem = data.get("kid"), data.get("private_key_pem")
        if not isinstance(kid, str) or not isinstance(pem, str):
            raise KeyRingError("signing key needs string 'kid' and 'private_key_pem'")
        try:
            private_key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise KeyRingError(f"signing key {kid!r} has an unreadable private key") from None
        if not isinstance(private_key, Ed25519PrivateKey):
            raise KeyRingError(f"signing key {kid!r} is not an Ed25519 key")
        if jwk_thumbprint(private_key.public_key()) != kid:
            raise KeyRingError(f"signing key {kid!r} does not match its kid")
        created_at = _timestamp(data.get("created_at"), "created_at", kid)
        retired = data.get("retired_at")
        retired_at = None if retired is None else _timestamp(retired, "retired_at", kid)
        return cls(kid=kid, private_key=private_key, created_at=created_at, retired_at=retired_at)


class KeyRing:
    """The current signing key plus retired keys kept until their tokens have expired.

    A retired key stays published for `retention_seconds` after it was retired, which
    should be the longest token lifetime (`TokenConfig.key_retention_seconds`).
    """

    def __init__(
        self,
        current: SigningKey,
        retired: Iterable[SigningKey] = (),
        *,
        retention_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not retention_seconds > 0:
            raise ValueError(f"retention_seconds must be positive, got {retention_seconds!r}")
        if current.retired_at is not None:
            raise KeyRingError("the current signing key cannot be retired")
        retired_keys = list(retired)
        if any(key.retired_at is None for key in retired_keys):
            raise KeyRingError("a retired signing key needs retired_at")
        kids = [current.kid, *(key.kid for key in retired_keys)]
        if len(set(kids)) != len(kids):
            raise KeyRingError("signing key ids repeat")
        self._current = current
        self._retired = retired_keys
        self._retention_seconds = float(retention_seconds)
        self._now = now

    @classmethod
    def generate(cls, *, retention_seconds: float, now: Callable[[], float] = time.time) -> KeyRing:
        """A new ring holding one freshly generated key."""
        return cls(
            SigningKey.generate(created_at=now()), retention_seconds=retention_seconds, now=now
        )

    @property
    def current(self) -> SigningKey:
        return self._current

    @property
    def retention_seconds(self) -> float:
        return self._retention_seconds

    def keys(self) -> tuple[SigningKey, ...]:
        """The current key first, then retired keys still within their retention."""
        now = self._now()
        live = (key for key in self._retired if not self._is_past_retention(key, now))
        return (self._current, *live)

    def find(self, kid: str) -> SigningKey | None:
        return next((key for key in self.keys() if key.kid == kid), None)

    def rotate(self) -> SigningKey:
        """Make a new key current and retire the old one; returns the new key."""
        now = self._now()
        new = SigningKey.generate(created_at=now)
        self._retired.insert(0, dataclasses.replace(self._current, retired_at=now))
        self._current = new
        self.prune()
        return new

    def prune(self) -> tuple[str, ...]:
        """Forget retired keys whose tokens have all expired; returns their kids."""
        now = self._now()
        dropped = tuple(k.kid for k in self._retired if self._is_past_retention(k, now))
        self._retired = [k for k in self._retired if k.kid not in dropped]
        return dropped

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set of every key a valid token may still be signed with."""
        return jwk_set((key.kid, key.public_key) for key in self.keys())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form holding private keys as PKCS8 PEM: store it securely."""
        return {
            "version": _FORMAT_VERSION,
            "keys": [self._current.to_dict(), *(key.to_dict() for key in self._retired)],
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        retention_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> KeyRing:
        if not isinstance(data, Mapping) or data.get("version") != _FORMAT_VERSION:
            raise KeyRingError(f"key ring must be an object with version {_FORMAT_VERSION}")
        entries = data.get("keys")
        if not isinstance(entries, list):
            raise KeyRingError("key ring needs a 'keys' list")
        keys = [SigningKey.from_dict(entry) for entry in entries]
        current = [key for key in keys if key.retired_at is None]
        if len(current) != 1:
            raise KeyRingError(f"key ring needs exactly one current key, found {len(current)}")
        retired = [key for key in keys if key.retired_at is not None]
        return cls(current[0], retired, retention_seconds=retention_seconds, now=now)

    def _is_past_retention(self, key: SigningKey, now: float) -> bool:
        assert key.retired_at is not None
        return now >= key.retired_at + self._retention_seconds


def _timestamp(value: object, field: str, kid: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise KeyRingError(f"signing key {kid!r} has an invalid {field}")
    return float(value)
