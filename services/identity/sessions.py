"""Sessions: opening them with a token pair, refreshing with rotation, revoking, checking."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from mesh.context import Principal
from mesh.errors import Unauthenticated
from mesh.tokens import TokenError, TokenType
from services.identity.events import RevocationAnnouncer
from services.identity.keys import SigningKeys
from services.identity.models import Caller, Introspection, TokenPair
from services.identity.store import (
    RefreshTokenRecord,
    RevocationReason,
    RotateStatus,
    SessionRecord,
    Store,
    UserRecord,
)

REVOKED = "revoked"
MISSING = "missing"


def _refresh_rejected() -> Unauthenticated:
    # One answer for every way a refresh token can be wrong: nothing for a prober to learn.
    return Unauthenticated("refresh token is not valid", reason="INVALID_REFRESH_TOKEN")


class Sessions:
    def __init__(
        self,
        store: Store,
        keys: SigningKeys,
        announcer: RevocationAnnouncer,
        *,
        now: Callable[[], float],
    ) -> None:
        self._store = store
        self._keys = keys
        self._announcer = announcer
        self._now = now

    def _issue(self, user: UserRecord, session_id: str) -> tuple[TokenPair, RefreshTokenRecord]:
        issuer = self._keys.issuer
        roles = sorted(str(role) for role in user.roles)
        access = issuer.issue_access(subject=user.user_id, session_id=session_id, roles=roles)
        refresh = issuer.issue_refresh(subject=user.user_id, session_id=session_id)
        pair = TokenPair(
            session_id=session_id,
            access_token=access.token,
            access_expires_at=access.claims.expires_at,
            expires_in=access.claims.expires_at - access.claims.issued_at,
            refresh_token=refresh.token,
            refresh_expires_at=refresh.claims.expires_at,
        )
        record = RefreshTokenRecord(
            token_id=refresh.claims.token_id,
            session_id=session_id,
            issued_at=refresh.claims.issued_at,
            expires_at=refresh.claims.expires_at,
        )
        return pair, record

    async def open(self, user: UserRecord) -> TokenPair:
        """Start a new session for `user` and return its first token pair."""
        session_id = str(uuid.uuid4())
        pair, refresh = self._issue(user, session_id)
        session = SessionRecord(
            session_id=session_id,
            user_id=user.user_id,
            created_at=self._now(),
            expires_at=pair.refresh_expires_at,
            access_expires_at=pair.access_expires_at,
        )
        await self._store.create_session(session, refresh)
        return pair

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Spend a refresh token for a new pair; a spent token revokes its session."""
        try:
            claims = await self._keys.verify(refresh_token, TokenType.REFRESH)
        except TokenError:
            raise _refresh_rejected() from None
        user = await self._store.get_user(claims.subject)
        if user is None or not user.is_live:
            raise _refresh_rejected()
        # Roles are read afresh, so a role change takes effect at the next refresh.
        pair, new = self._issue(user, claims.session_id)
        outcome = await self._store.rotate_refresh_token(
            session_id=claims.session_id,
            old_token_id=claims.token_id,
            new=new,
            access_expires_at=pair.access_expires_at,
            now=self._now(),
        )
        if outcome.status is RotateStatus.ROTATED:
            return pair
        if outcome.status is RotateStatus.REUSED:
            if outcome.session is not None:
                await self._announcer.announce([outcome.session])
            raise Unauthenticated(
                "refresh token was already used; the session has been revoked",
                reason="REFRESH_TOKEN_REUSED",
            )
        raise _refresh_rejected()

    async def revoke(self, session_id: str, reason: RevocationReason) -> bool:
        """Revoke one session; False if it was already revoked (nothing is announced)."""
        session = await self._store.revoke_session(session_id, now=self._now(), reason=reason)
        if session is None:
            return False
        await self._announcer.announce([session])
        return True

    async def revoke_all(self, user_id: str, reason: RevocationReason) -> int:
        revoked = await self._store.revoke_user_sessions(user_id, now=self._now(), reason=reason)
        await self._announcer.announce(revoked)
        return len(revoked)

    async def announce(self, sessions: tuple[SessionRecord, ...]) -> None:
        await self._announcer.announce(sessions)

    async def _live(self, user_id: str, session_id: str) -> Caller | None:
        session = await self._store.get_session(session_id)
        if session is None or session.is_revoked or session.user_id != user_id:
            return None
        user = await self._store.get_user(user_id)
        if user is None or not user.is_live:
            return None
        return Caller(user=user, session=session)

    async def authenticate(self, principal: Principal | None) -> Caller:
        """The caller behind a verified principal, if their session is still live.

        Identity owns the sessions, so it checks revocation itself rather than waiting
        for the SessionRevoked event to reach its own verifier.
        """
        if principal is None:
            raise Unauthenticated("sign-in required", reason="SIGN_IN_REQUIRED")
        caller = await self._live(principal.user_id, principal.session_id)
        if caller is None:
            raise Unauthenticated("the session is no longer valid", reason="SESSION_REVOKED")
        return caller

    async def introspect(self, token: str) -> Introspection:
        """Validate an access token: signature, claims, and that its session is live."""
        if not token:
            return Introspection(valid=False, reason=MISSING)
        try:
            claims = await self._keys.verify(token, TokenType.ACCESS)
        except TokenError as exc:
            return Introspection(valid=False, reason=str(exc.reason))
        if await self._live(claims.subject, claims.session_id) is None:
            return Introspection(valid=False, reason=REVOKED)
        return Introspection(
            valid=True,
            user_id=claims.subject,
            roles=claims.roles,
            session_id=claims.session_id,
            expires_at=claims.expires_at,
        )
