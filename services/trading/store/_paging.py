"""Page tokens of trading's listings: keyset over (time, id), newest first."""

from __future__ import annotations

from collections.abc import Mapping

from mesh import paging

DEFAULT_PAGE_SIZE = 50
_TOKENS = paging.KeysetTokens((float, str))


def encode(at: float, row_id: str, scope: Mapping[str, object]) -> str:
    return _TOKENS.encode((at, row_id), scope)


def decode(token: str, scope: Mapping[str, object]) -> tuple[float, str] | None:
    """The (time, id) the next page starts before, None for ""; INVALID_ARGUMENT for a
    garbled token or one of another listing."""
    try:
        key = _TOKENS.decode(token, scope)
    except paging.InvalidPageToken as exc:
        raise paging.invalid_argument(exc) from None
    return None if key is None else (key[0], key[1])


def page_size(requested: int) -> int:
    return paging.page_size(requested, default=DEFAULT_PAGE_SIZE)
