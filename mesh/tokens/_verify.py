"""The verification steps shared by the synchronous and JWKS-cache-backed verifiers."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mesh.tokens.claims import Claims, TokenType
from mesh.tokens.config import TokenConfig
from mesh.tokens.errors import TokenError, TokenErrorReason
from mesh.tokens.jwks import ALGORITHM

# Far above any token we issue; bounds the work an anonymous caller can cause.
MAX_TOKEN_CHARS = 8192

_REQUIRED = ("iss", "aud", "sub", "sid", "jti", "iat", "nbf", "exp", "typ")
_HEADER_KNOWN = frozenset({"alg", "kid", "typ"})
_JWS = jwt.PyJWS()


def read_kid(token: object) -> str:
    """Check the header of an unverified token and return its `kid`."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenError(TokenErrorReason.MALFORMED)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError(TokenErrorReason.MALFORMED) from None
    # Only EdDSA is ever accepted, whatever the token asks for: this is what defeats
    # `alg: none` and HMAC-with-the-public-key confusion.
    if header.get("alg") != ALGORITHM:
        raise TokenError(TokenErrorReason.BAD_ALGORITHM)
    # We issue no other header parameters; `crit`, `b64`, `jku` and the like are refused.
    if not set(header) <= _HEADER_KNOWN:
        raise TokenError(TokenErrorReason.MALFORMED)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError(TokenErrorReason.UNKNOWN_KID)
    return kid


def verify_with_key(
    token: str,
    key: Ed25519PublicKey,
    expected_type: TokenType,
    config: TokenConfig,
    now: float,
) -> Claims:
    """Check the signature with `key`, then every claim; return the claims."""
    try:
        decoded = _JWS.decode_complete(token, key, algorithms=[ALGORITHM])
    except jwt.InvalidSignatureError:
        raise TokenError(TokenErrorReason.BAD_SIGNATURE) from None
    except jwt.InvalidAlgorithmError:
        raise TokenError(TokenErrorReason.BAD_ALGORITHM) from None
    except jwt.PyJWTError:
        raise TokenError(TokenErrorReason.MALFORMED) from None
    try:
        payload = json.loads(decoded["payload"])
    except (ValueError, RecursionError):
        raise TokenError(TokenErrorReason.MALFORMED) from None
    if not isinstance(payload, dict):
        raise TokenError(TokenErrorReason.MALFORMED)
    return _check_claims(payload, expected_type, config, now)


def _check_claims(
    payload: Mapping[str, Any], expected_type: TokenType, config: TokenConfig, now: float
) -> Claims:
    for claim in _REQUIRED:
        if claim not in payload:
            raise TokenError(TokenErrorReason.MISSING_CLAIM, claim=claim)
    # The type decides which further claims are required, so it is settled first.
    if payload["typ"] != expected_type:
        raise TokenError(TokenErrorReason.WRONG_TYPE)
    if expected_type is TokenType.ACCESS and "roles" not in payload:
        raise TokenError(TokenErrorReason.MISSING_CLAIM, claim="roles")
    issuer = _string(payload, "iss")
    audience = payload["aud"]
    subject = _string(payload, "sub")
    session_id = _string(payload, "sid")
    token_id = _string(payload, "jti")
    issued_at = _numeric_date(payload, "iat")
    not_before = _numeric_date(payload, "nbf")
    expires_at = _numeric_date(payload, "exp")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise TokenError(TokenErrorReason.MALFORMED)
    roles: tuple[str, ...] = ()
    if expected_type is TokenType.ACCESS:
        raw_roles = payload["roles"]
        if not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles):
            raise TokenError(TokenErrorReason.MALFORMED)
        roles = tuple(raw_roles)

    if issuer != config.issuer:
        raise TokenError(TokenErrorReason.WRONG_ISSUER)
    if config.audience not in audiences:
        raise TokenError(TokenErrorReason.WRONG_AUDIENCE)
    leeway = config.leeway_seconds
    if now >= expires_at + leeway:
        raise TokenError(TokenErrorReason.EXPIRED)
    if now + leeway < not_before or now + leeway < issued_at:
        raise TokenError(TokenErrorReason.NOT_YET_VALID)
    return Claims(
        subject=subject,
        session_id=session_id,
        roles=roles,
        token_id=token_id,
        issued_at=int(issued_at),
        expires_at=int(expires_at),
        token_type=expected_type,
    )


def _string(payload: Mapping[str, Any], claim: str) -> str:
    value = payload[claim]
    if not isinstance(value, str) or not value:
        raise TokenError(TokenErrorReason.MALFORMED)
    return value


def _numeric_date(payload: Mapping[str, Any], claim: str) -> float:
    value = payload[claim]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenError(TokenErrorReason.MALFORMED)
    return float(value)
