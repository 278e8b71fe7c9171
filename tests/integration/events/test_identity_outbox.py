"""identity writes SessionRevoked to its outbox in the transaction that revokes, on SQLite and
PostgreSQL, and its relay publishes it keyed by the user."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from trademesh.identity.v1 import events_pb2

from mesh import context
from mesh.context import Principal
from mesh.events import SESSIONS, EventsConfig
from services.identity import Identity, IdentityConfig, build_identity, open_store
from tests.integration.events.helpers import read_to_end

PASSWORD = "correct horse battery staple"


def identity_config(tmp_path: Path) -> IdentityConfig:
    return IdentityConfig(
        sqlite_path=tmp_path / "identity.sqlite3",
        password_time_cost=1,
        password_memory_kib=8,
        password_parallelism=1,
    )


@pytest_asyncio.fixture
async def identity(
    database_url: str, tmp_path: Path, config: EventsConfig
) -> AsyncIterator[tuple[Identity, list[events_pb2.SessionRevoked]]]:
    hooked: list[events_pb2.SessionRevoked] = []

    async def hook(event: events_pb2.SessionRevoked) -> None:
        hooked.append(event)

    store = open_store(database_url, tmp_path / "identity.sqlite3")
    built = await build_identity(
        identity_config(tmp_path), publish=hook, events=config, store=store
    )
    async with built:
        yield built, hooked


async def outbox(identity: Identity) -> list[tuple[str, str, bytes, dict[str, str]]]:
    async with identity.store.database.transaction() as tx:
        rows = await tx.fetchall("SELECT topic, event_key, payload, headers FROM outbox")
    return [(r[0], r[1], bytes(r[2]), json.loads(r[3])) for r in rows]


async def test_logout_writes_the_event_with_the_revocation_and_the_relay_sends_it(
    identity: tuple[Identity, list[events_pb2.SessionRevoked]], config: EventsConfig
) -> None:
    built, hooked = identity
    await built.auth.register(email="ada@example.com", password=PASSWORD, display_name="Ada")
    signed_in = await built.auth.login(email="ada@example.com", password=PASSWORD)
    user_id = signed_in.user.user_id
    assert await outbox(built) == []

    principal = Principal(
        user_id=user_id,
        session_id=signed_in.tokens.session_id,
        roles=frozenset({"viewer"}),
        token=signed_in.tokens.access_token,
    )
    with context.bind(correlation_id="logout-cid"):
        await built.auth.logout(principal)
        await built.auth.logout(principal)  # already revoked: no second event

    [(topic, key, payload, headers)] = await outbox(built)
    event = events_pb2.SessionRevoked.FromString(payload)
    assert (topic, key) == (SESSIONS.name, user_id)
    assert event.session_id == signed_in.tokens.session_id
    assert event.reason == events_pb2.REVOCATION_REASON_LOGOUT
    assert event.correlation_id == headers["x-correlation-id"] == "logout-cid"
    assert event.access_token_expire_time.seconds > 0
    assert hooked == [event]  # the announced event is the one in the outbox

    assert built.relay is not None
    await built.relay.start()
    assert await built.relay.flush()
    records = await read_to_end(config, SESSIONS.name, SESSIONS.partitions)
    mine = [r for r in records if dict(r.headers)["ce_id"].decode() == event.event_id]
    assert len(mine) == 1 and mine[0].key == user_id.encode()
    assert dict(mine[0].headers)["ce_source"] == b"identity"
