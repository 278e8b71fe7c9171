"""Signing access and refresh tokens with the key ring's current key."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from mesh.tokens.claims import Claims, TokenType
from mesh.tokens.config import TokenConfig
from mesh.tokens.jwks import ALGORITHM
from mesh.tokens.keys import KeyRing


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed token and the claims it carries (for the session store)."""

    token: str = dataclasses.field(repr=False)
    claims: Claims


class TokenIssuer:
    """Issues EdDSA-signed access and refresh tokens for user sessions."""

    def __init__(
        self, config: TokenConfig, ring: KeyRing, *, now: Callable[[], float] = time.time
    ) -> None:
        self._config = config
        self._ring = ring
        self._now = now

    def issue_access(self, *, subject: str, session_id: str, roles: Iterable[str]) -> IssuedToken:
        role_list = tuple(roles)
        if not all(isinstance(role, str) and role for role in role_list):
            raise ValueError("roles must be non-empty strings")
        return self._issue(
            TokenType.ACCESS, subject, session_id, role_list, self._config.access_ttl_seconds
        )

    def issue_refresh(self, *, subject: str, session_id: str) -> IssuedToken:
        return self._issue(
            TokenType.REFRESH, subject, session_id, (), self._config.refresh_ttl_seconds
        )

    def _issue(
        self,
        token_type: TokenType,
        subject: str,
        session_id: str,
        roles: tuple[str, ...],
        ttl_seconds: int,
    ) -> IssuedToken:
        if not isinstance(subject, str) or not subject:
            raise ValueError("subject must be a non-empty string")
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("session_id must be a non-empty string")
        issued_at = int(self._now())
        claims = Claims(
            subject=subject,
            session_id=session_id,
            roles=roles,
            token_id=secrets.token_urlsafe(16),
            issued_at=issued_at,
            expires_at=issued_at + int(ttl_seconds),
            token_type=token_type,
        )
        payload: dict[str, Any] = {
            "iss": self._config.issuer,
            "aud": self._config.audience,
            "sub": claims.subject,
            "sid": claims.session_id,
            "jti": claims.token_id,
            "iat": claims.issued_at,
            "nbf": claims.issued_at,
            "exp": claims.expires_at,
            "typ": str(token_type),
        }
        if token_type is TokenType.ACCESS:
            payload["roles"] = list(roles)
        key = self._ring.current
        token = jwt.encode(
            payload, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"}
        )
        return IssuedToken(token=token, claims=claims)
