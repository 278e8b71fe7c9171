"""Sessions identity announced as revoked on `identity.sessions.v1`, remembered until their
last access token has expired: the auth interceptor's `is_revoked` outside identity."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from trademesh.identity.v1 import events_pb2 as identity_events

from mesh.events import Delivery

logger = logging.getLogger(__name__)

# Expired revocations are swept once more than this many are remembered.
_SWEEP_ABOVE = 10_000
# A revocation without an expiry is kept as long as the longest access token could live.
_DEFAULT_KEEP_SECONDS = 86400.0


class RevokedSessions:
    """A consumer handler (`Consumer(events, None, [SESSIONS], revoked)`: a broadcast consumer
    read from the start, so a new instance knows the revocations still in the topic) and the
    `is_revoked` check; `subscribe` tells others (caches of verified tokens) as each session
    is revoked."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._until: dict[str, float] = {}
        self._now = now
        self._subscribers: dict[object, Callable[[str], None]] = {}

    def revoke(self, session_id: str, until: float) -> None:
        now = self._now()
        previous = self._until.get(session_id)
        self._until[session_id] = max(until, previous or 0.0)
        if len(self._until) > _SWEEP_ABOVE:
            self._until = {sid: end for sid, end in self._until.items() if end >= now}
        if previous is None or previous < now:
            self._notify(session_id)

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call `callback(session_id)` for each session newly revoked from now on (a repeated
        revocation of a session still revoked is not told again); returns the unsubscribe,
        which is safe to call twice."""
        handle = object()
        self._subscribers[handle] = callback

        def unsubscribe() -> None:
            self._subscribers.pop(handle, None)

        return unsubscribe

    def _notify(self, session_id: str) -> None:
        # A snapshot: a callback may unsubscribe itself or others while being told.
        for callback in tuple(self._subscribers.values()):
            try:
                callback(session_id)
            except Exception:
                # One failing subscriber must neither stop the others nor the consumer.
                logger.exception("revocation subscriber failed", extra={"session_id": session_id})

    async def is_revoked(self, session_id: str) -> bool:
        until = self._until.get(session_id)
        if until is None:
            return False
        if until < self._now():
            del self._until[session_id]  # its tokens have expired anyway
            return False
        return True

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.event
        if isinstance(event, identity_events.SessionRevoked) and event.session_id:
            expires = event.access_token_expire_time
            until = (
                expires.ToNanoseconds() / 1e9
                if expires.seconds
                else self._now() + _DEFAULT_KEEP_SECONDS
            )
            self.revoke(event.session_id, until)
