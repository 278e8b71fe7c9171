"""RevokedSessions: a revoked session is refused until its last access token expired."""

from __future__ import annotations

from google.protobuf import message, timestamp_pb2
from trademesh.identity.v1 import events_pb2

from mesh.events import Delivery
from mesh.tokens.revocations import RevokedSessions


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _delivery(event: message.Message) -> Delivery:
    return Delivery(
        topic="identity.sessions.v1",
        partition=0,
        offset=0,
        key=None,
        event=event,
        event_id="e1",
        headers={},
        correlation_id="c",
        traceparent=None,
    )


async def test_a_revoked_session_is_refused_until_its_tokens_expire() -> None:
    clock = Clock()
    revoked = RevokedSessions(now=clock)
    event = events_pb2.SessionRevoked(
        event_id="e1",
        session_id="s1",
        access_token_expire_time=timestamp_pb2.Timestamp(seconds=1_900),
    )
    await revoked(_delivery(event))
    assert await revoked.is_revoked("s1")
    assert not await revoked.is_revoked("s2")
    clock.now = 1_901
    assert not await revoked.is_revoked("s1")


async def test_without_an_expiry_it_is_kept_for_a_day_and_other_events_are_ignored() -> None:
    clock = Clock()
    revoked = RevokedSessions(now=clock)
    await revoked(_delivery(events_pb2.SessionRevoked(event_id="e", session_id="s1")))
    await revoked(_delivery(events_pb2.SessionRevoked(event_id="e2")))  # no session: ignored
    clock.now += 86_000
    assert await revoked.is_revoked("s1")
    clock.now += 500
    assert not await revoked.is_revoked("s1")
