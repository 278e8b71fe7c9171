"""Sessions identity announced as revoked on `identity.sessions.v1`, remembered until their
last access token has expired: the auth interceptor's `is_revoked` outside identity."""

from __future__ import annotations

import time
from collections.abc import Callable

from trademesh.identity.v1 import events_pb2 as identity_events

from mesh.events import Delivery

# Expired revocations are swept once more than this many are remembered.
_SWEEP_ABOVE = 10_000
# A revocation without an expiry is kept as long as the longest access token could live.
_DEFAULT_KEEP_SECONDS = 86400.0


class RevokedSessions:
    """A consumer handler (`Consumer(events, None, [SESSIONS], revoked)`: a broadcast consumer
    read from the start, so a new instance knows the revocations still in the topic) and the
    `is_revoked` check."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._until: dict[str, float] = {}
        self._now = now

    def revoke(self, session_id: str, until: float) -> None:
        self._until[session_id] = max(until, self._until.get(session_id, 0.0))
        if len(self._until) > _SWEEP_ABOVE:
            now = self._now()
            self._until = {sid: end for sid, end in self._until.items() if end >= now}

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
