"""What the Socket.IO server really sends validates against the AsyncAPI document: acks, room
events and the revocation notice, from the real Realtime server (uvicorn on loopback) over the
real marketdata service, read by a python-socketio client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from jsonschema import Draft7Validator

from edge.contracts import compiled_contracts
from edge.docs.asyncapi import asyncapi_document
from services.marketdata import MarketData
from tests.conftest import eventually
from tests.unit.edge.realtime.conftest import (  # noqa: F401 - fixtures used by name
    Served,
    marketdata,
    provider,
    quotes_server,
    signer,
)
from tests.unit.edge.realtime.test_server import Edge, edge_on
from tests.unit.services._mesh import Signer
from tests.unit.services.marketdata.conftest import ManualProvider


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document(compiled_contracts(), {"title": "trademesh", "version": "1"})


@pytest_asyncio.fixture
async def edge(quotes_server: Served, signer: Signer) -> AsyncIterator[Edge]:  # noqa: F811
    async with edge_on(quotes_server.upstream, signer) as running:
        yield running


def _problems(document: dict[str, Any], message: str, instance: Any) -> list[str]:
    schema = {
        **document["components"]["messages"][message]["payload"],
        "components": document["components"],
    }
    return [e.message for e in Draft7Validator(schema).iter_errors(instance)]


async def _until(check: Callable[[], object], what: str) -> None:
    async def probe() -> bool:
        return bool(check())

    await eventually(probe, timeout=10, interval=0.02, what=what)


async def test_acks_and_events_match_the_document(
    document: dict[str, Any],
    edge: Edge,
    marketdata: MarketData,  # noqa: F811
    provider: ManualProvider,  # noqa: F811
) -> None:
    alice = await edge.client()
    joined = await alice.call("subscribe", {"room": "quotes:AAA"})
    assert joined["ok"] is True
    assert _problems(document, "subscribeAck", joined) == []
    provider.push("AAA")
    await _until(lambda: alice.received.get("event"), "a quote event")
    event = alice.received["event"][0]
    assert _problems(document, "quotes.event", event) == []
    assert _problems(document, "orders.event", event) != []  # the room names its channel

    refused = await alice.call("subscribe", {"room": "quotes:AAA", "since": -1})
    assert "error" in refused
    assert _problems(document, "subscribeAck", refused) == []

    left = await alice.call("unsubscribe", {"room": "quotes:AAA"})
    assert _problems(document, "unsubscribeAck", left) == []

    edge.revoke("s-alice")
    await _until(lambda: alice.received.get("session_revoked"), "the revocation notice")
    notice = alice.received["session_revoked"][0]
    assert _problems(document, "sessionRevoked", notice) == []
