"""Page tokens of portfolio's listings: a user's portfolios and a portfolio's positions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesh import paging

PORTFOLIOS = paging.KeysetTokens((float, str))  # (created_at, portfolio_id), per user
POSITIONS = paging.KeysetTokens((str,))  # (symbol,), per portfolio


def decode(
    tokens: paging.KeysetTokens, token: str, scope: Mapping[str, object]
) -> tuple[Any, ...] | None:
    """The key in `token`, None for ""; INVALID_ARGUMENT when garbled or of another listing."""
    try:
        return tokens.decode(token, scope)
    except paging.InvalidPageToken as exc:
        raise paging.invalid_argument(exc) from None
