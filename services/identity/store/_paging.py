"""Opaque page tokens for keyset pagination over (created_at, user_id)."""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass

from services.identity.store.errors import InvalidPageToken

_VERSION = 1


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row of a page and the filter the page was listed with."""

    created_at: float
    user_id: str
    role: str


def encode(cursor: Cursor) -> str:
    payload = {"v": _VERSION, "c": cursor.created_at, "u": cursor.user_id, "r": cursor.role}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(token: str, *, role: str) -> Cursor:
    """The cursor in `token`; raises InvalidPageToken if it is garbled or for another filter."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeError):
        raise InvalidPageToken("page token is not valid") from None
    if not isinstance(payload, dict) or payload.get("v") != _VERSION:
        raise InvalidPageToken("page token is not valid")
    created_at, user_id, token_role = payload.get("c"), payload.get("u"), payload.get("r")
    if (
        isinstance(created_at, bool)
        or not isinstance(created_at, int | float)
        or not math.isfinite(created_at)
        or not isinstance(user_id, str)
        or not isinstance(token_role, str)
    ):
        raise InvalidPageToken("page token is not valid")
    if token_role != role:
        raise InvalidPageToken("page token belongs to a listing with a different filter")
    return Cursor(created_at=float(created_at), user_id=user_id, role=token_role)
