"""Opaque page tokens for keyset pagination, newest first, over (time, id)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass

from mesh.errors import FieldViolation, InvalidArgument

_VERSION = 1
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row of a page: the next page starts strictly before it."""

    at: float
    row_id: str


def fingerprint(*parts: object) -> str:
    """A short digest of a listing's filter; a token only continues the listing it came from."""
    raw = json.dumps([str(part) for part in parts], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(
        message, [FieldViolation("page_token", message)], reason="INVALID_PAGE_TOKEN"
    )


def encode(cursor: Cursor, filter_print: str) -> str:
    payload = {"v": _VERSION, "t": cursor.at, "i": cursor.row_id, "f": filter_print}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(token: str, filter_print: str) -> Cursor | None:
    """None for ""; InvalidArgument for a garbled token or one of another listing."""
    if not token:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeError):
        raise _invalid("page token is not valid") from None
    if not isinstance(payload, dict) or payload.get("v") != _VERSION:
        raise _invalid("page token is not valid")
    at, row_id, found = payload.get("t"), payload.get("i"), payload.get("f")
    if (
        isinstance(at, bool)
        or not isinstance(at, int | float)
        or not math.isfinite(at)
        or not isinstance(row_id, str)
    ):
        raise _invalid("page token is not valid")
    if found != filter_print:
        raise _invalid("page token belongs to a listing with different filters")
    return Cursor(float(at), row_id)


def page_size(requested: int) -> int:
    return DEFAULT_PAGE_SIZE if requested <= 0 else min(requested, 1000)
