"""How a rejected access token is refused, by its `TokenError` reason: one table for the
services' auth interceptor and the edge, so a client gets the same answer from either."""

from __future__ import annotations

from mesh.errors import DomainError, Unauthenticated, Unavailable
from mesh.tokens.errors import TokenError, TokenErrorReason

# Any reason not listed is TOKEN_INVALID. Expiry has its own reason so clients know to
# refresh; identity's keys being unreachable is our outage, not the caller's fault, and worth
# a retry.
TOKEN_REFUSALS: dict[TokenErrorReason, tuple[type[DomainError], str, str]] = {
    TokenErrorReason.EXPIRED: (Unauthenticated, "TOKEN_EXPIRED", "access token has expired"),
    TokenErrorReason.JWKS_UNAVAILABLE: (
        Unavailable,
        "TOKEN_KEYS_UNAVAILABLE",
        "token signing keys are unavailable",
    ),
}
_INVALID_TOKEN = (Unauthenticated, "TOKEN_INVALID", "access token is invalid")


def token_refusal(error: TokenError) -> DomainError:
    kind, reason, message = TOKEN_REFUSALS.get(error.reason, _INVALID_TOKEN)
    return kind(message, reason=reason, metadata={"token_error": str(error.reason)})
