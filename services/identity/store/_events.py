"""SessionRevoked events, written to the outbox in the transaction that revokes the session."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.identity.v1 import events_pb2

from mesh import context
from mesh.events import SESSIONS, enqueue
from mesh.store import Transaction
from services.identity.store.records import RevocationReason, SessionRecord

_REASONS: dict[RevocationReason, events_pb2.RevocationReason.ValueType] = {
    RevocationReason.LOGOUT: events_pb2.REVOCATION_REASON_LOGOUT,
    RevocationReason.REFRESH_TOKEN_REUSE: events_pb2.REVOCATION_REASON_REFRESH_TOKEN_REUSE,
    RevocationReason.USER_DELETED: events_pb2.REVOCATION_REASON_USER_DELETED,
    RevocationReason.USER_DISABLED: events_pb2.REVOCATION_REASON_USER_DISABLED,
}
_EVENT_IDS = uuid.UUID("5e55104e-7265-766f-6b65-640000000001")


def timestamp(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(round(seconds * 1e9))
    return stamp


def session_revoked(session: SessionRecord) -> events_pb2.SessionRevoked:
    """The event for a session the store has just revoked.

    A session is revoked once, so its event id is derived from the session id: the event
    written to the outbox and the one announced after the commit are the same event.
    """
    if session.revoked_at is None or session.revoke_reason is None:
        raise ValueError("the session is not revoked")
    return events_pb2.SessionRevoked(
        event_id=str(uuid.uuid5(_EVENT_IDS, session.session_id)),
        occurred_at=timestamp(session.revoked_at),
        correlation_id=context.current().correlation_id,
        session_id=session.session_id,
        user_id=session.user_id,
        reason=_REASONS[session.revoke_reason],
        access_token_expire_time=timestamp(session.access_expires_at),
    )


async def enqueue_revocations(tx: Transaction, sessions: Iterable[SessionRecord]) -> None:
    """Write one SessionRevoked per session to the outbox, keyed by its user."""
    for session in sessions:
        await enqueue(tx, SESSIONS, session_revoked(session), key=session.user_id)
