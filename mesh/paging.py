"""Opaque keyset page tokens: a listing's last key, bound to the query it came from."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from mesh.errors import FieldViolation, InvalidArgument

__all__ = [
    "FIELD",
    "InvalidPageToken",
    "KeysetTokens",
    "invalid_argument",
    "page_size",
]

FIELD = "page_token"
_VERSION = 1
_GARBLED = "page token is not valid"

KeyKind: TypeAlias = type[str] | type[int] | type[float] | type[bool]


class InvalidPageToken(ValueError):
    """A page token this code did not issue, or one issued for a different query."""


def invalid_argument(exc: InvalidPageToken) -> InvalidArgument:
    """The INVALID_ARGUMENT on the page_token field a refused token becomes at the API."""
    return InvalidArgument(
        f"{FIELD}: {exc}", [FieldViolation(FIELD, str(exc))], reason="INVALID_PAGE_TOKEN"
    )


def page_size(
    requested: int, *, default: int, maximum: int = 1000, refuse_over: bool = False
) -> int:
    """The page size to use: `default` for 0, at most `maximum` (clamped, or refused with
    `refuse_over`); INVALID_ARGUMENT on page_size when negative."""
    if requested < 0:
        raise InvalidArgument(
            "page_size: must not be negative", [FieldViolation("page_size", "must not be negative")]
        )
    if requested > maximum and refuse_over:
        description = f"must be at most {maximum}"
        raise InvalidArgument(
            f"page_size: {description}", [FieldViolation("page_size", description)]
        )
    return default if requested == 0 else min(requested, maximum)


def _fingerprint(scope: Mapping[str, object]) -> dict[str, str]:
    return {
        name: hashlib.sha256(repr(value).encode()).hexdigest()[:12] for name, value in scope.items()
    }


def _fits(value: object, kind: KeyKind) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, int | float) and math.isfinite(value)
    return isinstance(value, kind)


@dataclass(frozen=True, slots=True)
class KeysetTokens:
    """Page tokens of one listing whose keyset key has these kinds, in order.

    A token carries the last key of a page and a digest of each value of the listing's scope
    (its filter, by name); it continues only a listing with the same scope, and a refusal
    names the filters that differ."""

    kinds: tuple[KeyKind, ...]

    def encode(self, key: Sequence[object], scope: Mapping[str, object] | None = None) -> str:
        if len(key) != len(self.kinds) or not all(map(_fits, key, self.kinds)):
            raise ValueError(f"a page key of kinds {self.kinds}, got {key!r}")
        payload = {"v": _VERSION, "s": _fingerprint(scope or {}), "k": list(key)}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def decode(
        self, token: str, scope: Mapping[str, object] | None = None
    ) -> tuple[Any, ...] | None:
        """The key in `token`, None for ""; InvalidPageToken when garbled or of another scope."""
        if not token:
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except (binascii.Error, ValueError, UnicodeError):
            raise InvalidPageToken(_GARBLED) from None
        if not isinstance(payload, dict) or payload.get("v") != _VERSION:
            raise InvalidPageToken(_GARBLED)
        key = payload.get("k")
        if (
            not isinstance(key, list)
            or len(key) != len(self.kinds)
            or not all(map(_fits, key, self.kinds))
        ):
            raise InvalidPageToken(_GARBLED)
        found, expected = payload.get("s"), _fingerprint(scope or {})
        if not isinstance(found, dict):
            raise InvalidPageToken(_GARBLED)
        differing = sorted(
            name for name in found.keys() | expected.keys() if found.get(name) != expected.get(name)
        )
        if differing:
            raise InvalidPageToken(
                f"page token belongs to a listing with a different {', '.join(differing)}"
            )
        return tuple(
            float(part) if kind is float else part
            for part, kind in zip(key, self.kinds, strict=True)
        )
