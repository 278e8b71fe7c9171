"""The Socket.IO server over real sockets: uvicorn on loopback serving the Realtime ASGI app
beside a Starlette app, python-socketio clients, the real EdgeAuth verifying real tokens, and
the marketdata service (or a scripted stream) on a real grpc.aio server upstream."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
import socketio

from edge.auth import EdgeAuth
from edge.contracts import Contracts, compiled_contracts
from edge.realtime import Realtime, RealtimeConfig
from services.marketdata import MarketData
from tests.conftest import eventually
from tests.unit.edge.realtime._serve import Client, serving, starlette_app
from tests.unit.edge.realtime.conftest import ALICE, BOB, ChannelUpstream, ScriptedQuotes, Served
from tests.unit.services._mesh import Signer
from tests.unit.services.marketdata.conftest import ManualProvider


async def _never_revoked(session_id: str) -> bool:
    return False


@dataclass
class Edge:
    url: str
    realtime: Realtime
    signer: Signer
    revocation_callbacks: list[Callable[[str], None]] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)

    def token(self, user_id: str = ALICE, *roles: str, session: str = "s-alice") -> str:
        return self.signer.access(user_id, roles or ("viewer",), session_id=session)

    async def client(self, token: str | None = None) -> Client:
        client = Client()
        self.clients.append(client)
        await client.connect(self.url, token or self.token())
        return client

    def revoke(self, session_id: str) -> None:
        for callback in self.revocation_callbacks:
            callback(session_id)


@asynccontextmanager
async def edge_on(upstream: ChannelUpstream, signer: Signer, **config: Any) -> AsyncIterator[Edge]:
    callbacks: list[Callable[[str], None]] = []

    def on_revoked(callback: Callable[[str], None]) -> Callable[[], None]:
        callbacks.append(callback)
        return lambda: callbacks.remove(callback)

    realtime = Realtime(
        compiled_contracts(),
        upstream,
        EdgeAuth(signer.verifier(), _never_revoked),
        RealtimeConfig(**{"accept_window_seconds": 2.0, **config}),
        on_revoked=on_revoked,
    )
    async with realtime, serving(realtime.asgi(starlette_app())) as url:
        edge = Edge(url, realtime, signer, callbacks)
        try:
            yield edge
        finally:
            for client in edge.clients:
                await client.sio.disconnect()
    assert callbacks == []  # stop() unsubscribed


@pytest_asyncio.fixture
async def edge(quotes_server: Served, signer: Signer) -> AsyncIterator[Edge]:
    async with edge_on(quotes_server.upstream, signer) as running:
        yield running


async def _until(check: Callable[[], object], what: str) -> None:
    async def probe() -> bool:
        return bool(check())

    await eventually(probe, timeout=10, interval=0.02, what=what)


async def test_the_starlette_app_still_answers_beside_socketio(edge: Edge) -> None:
    async with httpx.AsyncClient(base_url=edge.url) as http:
        assert (await http.get("/ping")).text == "pong"


@pytest.mark.parametrize(
    ("token", "code", "says"),
    [
        (None, grpc.StatusCode.UNAUTHENTICATED, "a token is required"),
        ("not-a-jwt", grpc.StatusCode.UNAUTHENTICATED, ""),
    ],
)
async def test_a_connection_without_a_good_token_is_refused_with_a_status(
    edge: Edge, token: str | None, code: grpc.StatusCode, says: str
) -> None:
    client = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(edge.url, token)
    assert client.refusal is not None
    status = client.refusal["data"]
    assert status["code"] == code.value[0]
    assert says in status["message"]
    assert status["details"]
    assert edge.realtime.connected() == []


async def test_clients_subscribe_receive_numbered_quotes_and_leave(
    edge: Edge, marketdata: MarketData, provider: ManualProvider
) -> None:
    alice = await edge.client()
    bob = await edge.client(edge.token(BOB, session="s-bob"))
    ack = await alice.call("subscribe", {"room": "quotes:AAA"})
    assert ack["ok"] is True and ack["room"] == "quotes:AAA" and ack["resync"] is False
    assert (await bob.call("subscribe", {"room": "quotes:AAA"}))["ok"] is True
    assert edge.realtime.hub.rooms() == {"quotes:AAA": 2}
    assert edge.realtime.metrics.upstream_streams._value.get() == 1

    for n in range(1, 4):
        provider.push("AAA")
        await _until(lambda: len(bob.seqs("quotes:AAA")) >= n, f"quote {n}")  # noqa: B023
    seqs = bob.seqs("quotes:AAA")
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert seqs[-1] - seqs[0] == 2
    event = bob.received["event"][-1]
    assert event["data"]["quote"]["symbol"] == "AAA"

    left = await alice.call("unsubscribe", {"room": "quotes:AAA"})
    assert left == {"ok": True, "room": "quotes:AAA", "left": True}
    await bob.sio.disconnect()
    await _until(lambda: edge.realtime.hub.rooms() == {}, "the room closed")
    await _until(lambda: marketdata.board.subscriber_count == 0, "the upstream cancelled")
    await _until(lambda: edge.realtime.metrics.connections._value.get() == 1, "bob gone")


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ("quotes:AAA", "", grpc.StatusCode.INVALID_ARGUMENT),
        ({"room": 5}, "room", grpc.StatusCode.INVALID_ARGUMENT),
        ({"room": "trades:x"}, "room", grpc.StatusCode.INVALID_ARGUMENT),
        ({"room": "quotes:AAA", "since": -1}, "since", grpc.StatusCode.INVALID_ARGUMENT),
        ({"room": "quotes:AAA", "since": "7"}, "since", grpc.StatusCode.INVALID_ARGUMENT),
        ({"room": "quotes:AAA", "sinse": 7}, "sinse", grpc.StatusCode.INVALID_ARGUMENT),
        ({"room": f"orders:{BOB}"}, None, grpc.StatusCode.PERMISSION_DENIED),
        ({"room": "quotes:ZZZ"}, None, grpc.StatusCode.NOT_FOUND),
    ],
)
async def test_a_bad_subscription_is_answered_with_a_status_naming_the_field(
    edge: Edge, payload: object, field: str | None, code: grpc.StatusCode
) -> None:
    alice = await edge.client()
    ack = await alice.call("subscribe", payload)
    assert set(ack) == {"error"}
    assert ack["error"]["code"] == code.value[0]
    if field is not None:
        violations = [d for d in ack["error"]["details"] if "fieldViolations" in d]
        assert violations[0]["fieldViolations"][0].get("field", "") == field
    assert edge.realtime.hub.rooms() == {}


async def test_a_connection_joins_at_most_the_configured_number_of_rooms(
    quotes_server: Served, signer: Signer
) -> None:
    async with edge_on(quotes_server.upstream, signer, max_rooms_per_client=1) as edge:
        alice = await edge.client()
        assert (await alice.call("subscribe", {"room": "quotes:AAA"}))["ok"] is True
        refused = await alice.call("subscribe", {"room": "quotes:BBB"})
        assert refused["error"]["code"] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert (await alice.call("subscribe", {"room": "quotes:AAA"}))["ok"] is True
        assert edge.realtime.hub.rooms() == {"quotes:AAA": 1}


async def test_a_revoked_session_is_disconnected(edge: Edge) -> None:
    alice = await edge.client()
    other = await edge.client(edge.token(ALICE, session="s-other"))
    await alice.call("subscribe", {"room": "quotes:AAA"})
    edge.revoke("s-alice")
    await _until(lambda: not alice.sio.connected, "alice disconnected")
    assert (
        alice.received["session_revoked"][0]["error"]["code"]
        == (grpc.StatusCode.UNAUTHENTICATED.value[0])
    )
    assert other.sio.connected
    await _until(lambda: edge.realtime.hub.rooms() == {}, "alice's room left")
    assert len(edge.realtime.connected()) == 1


async def test_a_client_vanishing_mid_join_cancels_the_upstream_call(
    scripted_server: Served, scripted: ScriptedQuotes, signer: Signer
) -> None:
    async with edge_on(scripted_server.upstream, signer, accept_window_seconds=30) as edge:
        alice = await edge.client()
        await alice.sio.emit("subscribe", {"room": "quotes:AAA"})
        await _until(lambda: scripted.open == 1, "the stream opened")
        await alice.sio.disconnect()
        await _until(lambda: scripted.open == 0, "the upstream call cancelled")
        await _until(lambda: edge.realtime.hub.rooms() == {}, "no room left")
        assert edge.realtime.connected() == []


async def test_stopping_the_edge_cancels_open_streams(
    scripted_server: Served, scripted: ScriptedQuotes, signer: Signer
) -> None:
    async with edge_on(scripted_server.upstream, signer, accept_window_seconds=0.2) as edge:
        alice = await edge.client()
        assert (await alice.call("subscribe", {"room": "quotes:AAA"}))["ok"] is True
        assert scripted.open == 1
        await edge.realtime.stop()
        await _until(lambda: scripted.open == 0, "the upstream call cancelled")
        await _until(lambda: not alice.sio.connected, "the client disconnected")
        assert edge.realtime.metrics.upstream_streams._value.get() == 0


async def test_a_room_event_is_encoded_once_for_all_its_members(
    edge: Edge, provider: ManualProvider
) -> None:
    encoded: list[str] = []

    class Counting(socketio.packet.Packet):  # type: ignore[misc]
        def encode(self) -> Any:
            if self.packet_type == socketio.packet.EVENT and self.data[0] == "event":
                encoded.append(self.data[1]["room"])
            return super().encode()

    edge.realtime.server.packet_class = Counting
    clients = [await edge.client() for _ in range(5)]
    for client in clients:
        assert (await client.call("subscribe", {"room": "quotes:BBB"}))["ok"] is True
    before = len(encoded)
    provider.push("BBB")
    await _until(lambda: all(c.seqs("quotes:BBB")[-1:] for c in clients), "the quote to all")
    await _until(lambda: len({c.seqs("quotes:BBB")[-1] for c in clients}) == 1, "one last seq")
    assert len(encoded) - before == 1


async def test_a_revocation_told_from_another_thread_disconnects(edge: Edge) -> None:
    alice = await edge.client()
    thread = threading.Thread(target=edge.revoke, args=("s-alice",))
    thread.start()
    thread.join()
    await _until(lambda: not alice.sio.connected, "alice disconnected")


class _Broken:
    async def authenticate(self, authorization: str | None) -> Any:
        raise RuntimeError("identity is unreachable")


async def test_a_failing_authenticator_refuses_the_connection_as_unavailable(
    quotes_server: Served,
) -> None:
    # A stand-in authenticator: the real one fails this way only when identity is down.
    realtime = Realtime(compiled_contracts(), quotes_server.upstream, _Broken())
    async with realtime, serving(realtime.asgi()) as url:
        client = Client()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(url, "token")
        assert client.refusal["data"]["code"] == grpc.StatusCode.UNAVAILABLE.value[0]


async def test_new_contracts_replace_the_room_table(edge: Edge) -> None:
    alice = await edge.client()
    quotes_only = Contracts(tuple(m for m in compiled_contracts() if m.service == "marketdata"))
    edge.realtime.update_contracts(quotes_only)
    ack = await alice.call("subscribe", {"room": f"orders:{ALICE}"})
    assert ack["error"]["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "rooms are quotes:{symbols}" in ack["error"]["message"]
