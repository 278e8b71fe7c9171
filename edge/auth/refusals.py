"""How the edge refuses a caller, in the same reasons and wording as the services' auth
interceptor (interceptors/auth.py), so a client sees one answer whichever of them refused."""

from __future__ import annotations

import grpc

from edge.errors import EdgeError, error_info
from mesh.tokens import TokenError, TokenErrorReason

# By TokenError reason; any other reason is TOKEN_INVALID. Expiry has its own reason so
# clients know to refresh; identity's keys being unreachable is our outage, worth a retry.
# Mirrors `_TOKEN_REFUSALS` in interceptors/auth.py.
_TOKEN_REFUSALS: dict[TokenErrorReason, tuple[grpc.StatusCode, str, str]] = {
    TokenErrorReason.EXPIRED: (
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_EXPIRED",
        "access token has expired",
    ),
    TokenErrorReason.JWKS_UNAVAILABLE: (
        grpc.StatusCode.UNAVAILABLE,
        "TOKEN_KEYS_UNAVAILABLE",
        "token signing keys are unavailable",
    ),
}
_INVALID_TOKEN = (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID", "access token is invalid")


def refusal(code: grpc.StatusCode, reason: str, message: str, **metadata: str) -> EdgeError:
    return EdgeError(code, message, details=[error_info(reason, **metadata)])


def token_refusal(error: TokenError) -> EdgeError:
    code, reason, message = _TOKEN_REFUSALS.get(error.reason, _INVALID_TOKEN)
    return refusal(code, reason, message, token_error=str(error.reason))


def token_missing() -> EdgeError:
    return refusal(grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING", "access token is missing")


def header_malformed() -> EdgeError:
    return refusal(
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_MISSING",
        "the Authorization header must be 'Bearer <access token>'",
    )


def session_revoked() -> EdgeError:
    return refusal(grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED", "session has been revoked")


def session_check_unavailable() -> EdgeError:
    return refusal(
        grpc.StatusCode.UNAVAILABLE, "SESSION_CHECK_UNAVAILABLE", "session state is unavailable"
    )
