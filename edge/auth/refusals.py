"""How the edge refuses a caller, in the same reasons and wording as the services' auth
interceptor, so a client sees one answer whichever of them refused."""

from __future__ import annotations

import grpc

from edge.errors import EdgeError, error_info
from mesh.tokens import TokenError
from mesh.tokens.refusals import token_refusal as shared_token_refusal


def refusal(code: grpc.StatusCode, reason: str, message: str, **metadata: str) -> EdgeError:
    return EdgeError(code, message, details=[error_info(reason, **metadata)])


def token_refusal(error: TokenError) -> EdgeError:
    """The services' refusal of this token (`mesh.tokens.refusals`), as the edge answers it."""
    refused = shared_token_refusal(error)
    return refusal(refused.code, refused.reason, refused.message, **refused.metadata)


def token_missing() -> EdgeError:
    return refusal(grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING", "access token is missing")


def header_malformed() -> EdgeError:
    return refusal(
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_MALFORMED",
        "the Authorization header must be 'Bearer <access token>'",
    )


def session_revoked() -> EdgeError:
    return refusal(grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED", "session has been revoked")


def session_check_unavailable() -> EdgeError:
    return refusal(
        grpc.StatusCode.UNAVAILABLE, "SESSION_CHECK_UNAVAILABLE", "session state is unavailable"
    )
