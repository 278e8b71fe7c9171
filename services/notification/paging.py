"""Opaque page tokens for keyset pagination over (created_us, notification_id), newest first."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from mesh.errors import FieldViolation, InvalidArgument

_VERSION = 1


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last notification of a page and the filter the page was listed with."""

    created_us: int
    notification_id: str
    unread_only: bool


def _invalid(description: str) -> InvalidArgument:
    return InvalidArgument(
        f"page_token: {description}", [FieldViolation("page_token", description)]
    )


def encode(cursor: Cursor) -> str:
    payload = {
        "v": _VERSION,
        "t": cursor.created_us,
        "i": cursor.notification_id,
        "u": cursor.unread_only,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(token: str, *, unread_only: bool) -> Cursor:
    """The cursor in `token`; InvalidArgument if it is garbled or from another filter."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeError):
        raise _invalid("is not a page token of this listing") from None
    if not isinstance(payload, dict) or payload.get("v") != _VERSION:
        raise _invalid("is not a page token of this listing")
    created_us, notification_id, token_unread = payload.get("t"), payload.get("i"), payload.get("u")
    if (
        isinstance(created_us, bool)
        or not isinstance(created_us, int)
        or not isinstance(notification_id, str)
        or not isinstance(token_unread, bool)
    ):
        raise _invalid("is not a page token of this listing")
    if token_unread != unread_only:
        raise _invalid("belongs to a listing with a different unread_only")
    return Cursor(created_us, notification_id, token_unread)
