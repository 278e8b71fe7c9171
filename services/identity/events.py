"""SessionRevoked after the commit: the events are already in the outbox (written in the
transaction that revoked the sessions, see store/_events.py); announcing them wakes the relay
and hands them to an optional in-process hook."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from trademesh.identity.v1 import events_pb2

from services.identity.store import SessionRecord
from services.identity.store._events import session_revoked, timestamp

logger = logging.getLogger(__name__)

Publisher = Callable[[events_pb2.SessionRevoked], Awaitable[None]]

__all__ = ["Publisher", "RevocationAnnouncer", "discard", "session_revoked", "timestamp"]


async def discard(event: events_pb2.SessionRevoked) -> None:
    """The default hook: nothing beyond the outbox."""


class RevocationAnnouncer:
    """After a revocation committed: wakes the outbox relay (`wake`), so the event leaves at
    once rather than at the relay's next poll, then hands each event to `publish`.

    The revocation and its event are already committed together, so a hook failure is only
    logged: it can neither undo the revocation nor lose the event.
    """

    def __init__(
        self, publish: Publisher = discard, *, wake: Callable[[], None] | None = None
    ) -> None:
        self._publish = publish
        self._wake = wake

    async def announce(self, sessions: Iterable[SessionRecord]) -> None:
        events = [session_revoked(session) for session in sessions]
        if events and self._wake is not None:
            self._wake()
        for event in events:
            try:
                await self._publish(event)
            except Exception:
                logger.exception("SessionRevoked hook failed for session %s", event.session_id)
