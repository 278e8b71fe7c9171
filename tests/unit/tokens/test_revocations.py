"""RevokedSessions: a revoked session is refused until its last access token expired."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
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


async def test_subscribers_hear_each_newly_revoked_session_once() -> None:
    clock = Clock()
    revoked = RevokedSessions(now=clock)
    heard: list[str] = []
    unsubscribe = revoked.subscribe(heard.append)
    seen_as_revoked: list[bool] = []

    def check_state(session_id: str) -> None:
        seen_as_revoked.append(session_id in revoked._until)

    revoked.subscribe(check_state)
    revoked.revoke("s1", 1_900)
    revoked.revoke("s1", 2_000)  # still revoked: a repeat, not told again
    await revoked(_delivery(events_pb2.SessionRevoked(event_id="e", session_id="s2")))
    assert heard == ["s1", "s2"]
    assert seen_as_revoked == [True, True]  # told after the state changed

    clock.now = 2_001  # s1's tokens expired: revoking it again is news again
    revoked.revoke("s1", 3_000)
    assert heard == ["s1", "s2", "s1"]

    unsubscribe()
    unsubscribe()  # twice is harmless
    revoked.revoke("s3", 3_000)
    assert heard == ["s1", "s2", "s1"]
    assert await revoked.is_revoked("s3")


async def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    revoked = RevokedSessions(now=Clock())
    heard: list[str] = []

    def broken(session_id: str) -> None:
        raise RuntimeError("subscriber bug")

    revoked.subscribe(broken)
    revoked.subscribe(heard.append)
    with caplog.at_level(logging.ERROR, logger="mesh.tokens.revocations"):
        await revoked(_delivery(events_pb2.SessionRevoked(event_id="e", session_id="s1")))
    assert heard == ["s1"]
    assert await revoked.is_revoked("s1")
    assert "revocation subscriber failed" in caplog.text


async def test_a_subscriber_may_unsubscribe_while_being_told() -> None:
    revoked = RevokedSessions(now=Clock())
    heard: list[str] = []
    unsubscribe_first: list[Callable[[], None]] = []

    def once(session_id: str) -> None:
        heard.append(f"once:{session_id}")
        unsubscribe_first[0]()

    unsubscribe_first.append(revoked.subscribe(once))
    revoked.subscribe(heard.append)
    revoked.revoke("s1", 5_000)
    revoked.revoke("s2", 5_000)
    assert heard == ["once:s1", "s1", "s2"]
