"""Page tokens of a user's feed: keyset over (created_us, notification_id), newest first."""

from __future__ import annotations

from dataclasses import dataclass

from mesh import paging

_TOKENS = paging.KeysetTokens((int, str))


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last notification of a page and the filter the page was listed with."""

    created_us: int
    notification_id: str
    unread_only: bool


def encode(cursor: Cursor) -> str:
    return _TOKENS.encode(
        (cursor.created_us, cursor.notification_id), {"unread_only": cursor.unread_only}
    )


def decode(token: str, *, unread_only: bool) -> Cursor | None:
    """The cursor in `token`, None for ""; INVALID_ARGUMENT if garbled or from another filter."""
    try:
        key = _TOKENS.decode(token, {"unread_only": unread_only})
    except paging.InvalidPageToken as exc:
        raise paging.invalid_argument(exc) from None
    if key is None:
        return None
    created_us, notification_id = key
    return Cursor(created_us, notification_id, unread_only)
