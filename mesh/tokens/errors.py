"""The one exception family for token, key ring and JWKS problems."""

from __future__ import annotations

from enum import StrEnum


class TokenErrorReason(StrEnum):
    """Machine-readable reason a token was rejected."""

    MALFORMED = "malformed"
    BAD_ALGORITHM = "bad_algorithm"
    UNKNOWN_KID = "unknown_kid"
    BAD_SIGNATURE = "bad_signature"
    MISSING_CLAIM = "missing_claim"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_TYPE = "wrong_type"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    JWKS_UNAVAILABLE = "jwks_unavailable"


# Fixed wording per reason: messages never quote anything taken from the token.
_MESSAGES: dict[TokenErrorReason, str] = {
    TokenErrorReason.MALFORMED: "token is malformed",
    TokenErrorReason.BAD_ALGORITHM: "token algorithm is not accepted",
    TokenErrorReason.UNKNOWN_KID: "token signing key is not known",
    TokenErrorReason.BAD_SIGNATURE: "token signature is invalid",
    TokenErrorReason.MISSING_CLAIM: "token is missing a required claim",
    TokenErrorReason.WRONG_ISSUER: "token issuer is not accepted",
    TokenErrorReason.WRONG_AUDIENCE: "token audience is not accepted",
    TokenErrorReason.WRONG_TYPE: "token type is not accepted here",
    TokenErrorReason.EXPIRED: "token has expired",
    TokenErrorReason.NOT_YET_VALID: "token is not valid yet",
    TokenErrorReason.JWKS_UNAVAILABLE: "token signing keys are unavailable",
}


class TokenError(Exception):
    """A token was rejected; `reason` says why in a form callers can branch on."""

    def __init__(self, reason: TokenErrorReason, *, claim: str | None = None) -> None:
        message = _MESSAGES[reason]
        if claim is not None:
            # Claim names come from our own schema, never from the token.
            message = f"{message}: {claim}"
        super().__init__(message)
        self.reason = reason
        self.claim = claim


class KeyRingError(ValueError):
    """Serialised signing keys or a JWK Set could not be loaded."""
