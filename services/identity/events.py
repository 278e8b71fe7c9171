"""SessionRevoked events, handed to an injected publisher (the outbox, once it exists)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable

from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.identity.v1 import events_pb2

from mesh import context
from services.identity.store import RevocationReason, SessionRecord

logger = logging.getLogger(__name__)

Publisher = Callable[[events_pb2.SessionRevoked], Awaitable[None]]

_REASONS: dict[RevocationReason, events_pb2.RevocationReason.ValueType] = {
    RevocationReason.LOGOUT: events_pb2.REVOCATION_REASON_LOGOUT,
    RevocationReason.REFRESH_TOKEN_REUSE: events_pb2.REVOCATION_REASON_REFRESH_TOKEN_REUSE,
    RevocationReason.USER_DELETED: events_pb2.REVOCATION_REASON_USER_DELETED,
    RevocationReason.USER_DISABLED: events_pb2.REVOCATION_REASON_USER_DISABLED,
}


async def discard(event: events_pb2.SessionRevoked) -> None:
    """The default publisher: events go nowhere."""


def timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(round(seconds * 1e9))
    return stamp


def session_revoked(session: SessionRecord) -> events_pb2.SessionRevoked:
    """The event for a session the store has just revoked."""
    if session.revoked_at is None or session.revoke_reason is None:
        raise ValueError("the session is not revoked")
    return events_pb2.SessionRevoked(
        event_id=str(uuid.uuid4()),
        occurred_at=timestamp(session.revoked_at),
        correlation_id=context.current().correlation_id,
        session_id=session.session_id,
        user_id=session.user_id,
        reason=_REASONS[session.revoke_reason],
        access_token_expire_time=timestamp(session.access_expires_at),
    )


class RevocationAnnouncer:
    """Publishes one SessionRevoked per revoked session.

    The revocation is already committed when this runs, so a publisher failure is logged
    rather than failing the request; the transactional outbox will close that gap.
    """

    def __init__(self, publish: Publisher = discard) -> None:
        self._publish = publish

    async def announce(self, sessions: Iterable[SessionRecord]) -> None:
        for session in sessions:
            event = session_revoked(session)
            try:
                await self._publish(event)
            except Exception:
                logger.exception(
                    "could not publish SessionRevoked for session %s", session.session_id
                )
