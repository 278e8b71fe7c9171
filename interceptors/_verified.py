"""Access tokens already verified, kept until they expire so a client's every call does not
pay for a signature check again."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from mesh.tokens import Claims

DEFAULT_MAX_TOKENS = 10_000


class VerifiedTokens:
    """A bounded LRU of token string → claims, each entry good until the token's `exp`.

    Only successful verifications are kept: a refused token is checked again on its next
    use. Revocation is not cached here; the caller checks it on every call.
    """

    def __init__(
        self, max_tokens: int = DEFAULT_MAX_TOKENS, *, now: Callable[[], float] = time.time
    ) -> None:
        if max_tokens < 1:
            raise ValueError(f"VerifiedTokens max_tokens must be positive, got {max_tokens!r}")
        self._max = max_tokens
        self._now = now
        self._claims: OrderedDict[str, Claims] = OrderedDict()

    def __len__(self) -> int:
        return len(self._claims)

    def get(self, token: str) -> Claims | None:
        claims = self._claims.get(token)
        if claims is None:
            return None
        if self._now() >= claims.expires_at:
            del self._claims[token]
            return None
        self._claims.move_to_end(token)
        return claims

    def put(self, token: str, claims: Claims) -> None:
        if self._now() >= claims.expires_at:
            return
        self._claims[token] = claims
        self._claims.move_to_end(token)
        if len(self._claims) > self._max:
            self._claims.popitem(last=False)
