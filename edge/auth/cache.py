"""The verified-token cache: principals by token string, least recently used evicted first,
each valid until its token expires, dropped as a whole session when it is revoked."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from mesh.context import Principal


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    valid_until: float  # wall-clock seconds, as the token's `exp`


class VerifiedTokens:
    """At most `max_entries` principals; every operation is O(1) but `forget_session`, which
    is O(tokens of that session)."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries!r}")
        self._max = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._by_session: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, now: float) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if now >= entry.valid_until:
            self._drop(token)
            return None
        self._entries.move_to_end(token)
        return entry.principal

    def put(self, principal: Principal, valid_until: float) -> None:
        token = principal.token
        if token in self._entries:
            self._drop(token)
        self._entries[token] = _Entry(principal, valid_until)
        self._by_session.setdefault(principal.session_id, set()).add(token)
        while len(self._entries) > self._max:
            self._drop(next(iter(self._entries)))

    def forget_session(self, session_id: str) -> int:
        """Drop every token of a session; returns how many were cached."""
        tokens = self._by_session.pop(session_id, set())
        for token in tokens:
            self._entries.pop(token, None)
        return len(tokens)

    def clear(self) -> None:
        self._entries.clear()
        self._by_session.clear()

    def _drop(self, token: str) -> None:
        entry = self._entries.pop(token)
        tokens = self._by_session.get(entry.principal.session_id)
        if tokens is not None:
            tokens.discard(token)
            if not tokens:
                del self._by_session[entry.principal.session_id]
