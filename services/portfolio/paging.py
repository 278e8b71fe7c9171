"""Opaque page tokens: the last key of a page, bound to the listing it came from."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from mesh.errors import FieldViolation, InvalidArgument

_VERSION = 1
FIELD = "page_token"


def _invalid(description: str) -> InvalidArgument:
    return InvalidArgument(f"{FIELD}: {description}", [FieldViolation(FIELD, description)])


def invalid() -> InvalidArgument:
    return _invalid("is not a page token of this listing")


def encode(scope: str, key: list[Any]) -> str:
    raw = json.dumps({"v": _VERSION, "s": scope, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(token: str, scope: str) -> list[Any] | None:
    """The key in `token` (None for an empty token); INVALID_ARGUMENT when it is garbled or
    belongs to another listing."""
    if not token:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeError):
        raise _invalid("is not a page token of this listing") from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != _VERSION
        or not isinstance(payload.get("k"), list)
    ):
        raise _invalid("is not a page token of this listing")
    if payload.get("s") != scope:
        raise _invalid("belongs to another listing")
    key: list[Any] = payload["k"]
    return key


def page_size(requested: int, default: int, maximum: int = 1000) -> int:
    if requested < 0:
        raise InvalidArgument(
            "page_size: must not be negative", [FieldViolation("page_size", "must be >= 0")]
        )
    return default if requested == 0 else min(requested, maximum)
