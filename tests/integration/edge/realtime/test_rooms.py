"""Socket.IO rooms against the real platform: identity, marketdata, portfolio and trading as
processes on the real Consul and Kafka, the edge's Realtime app (with the real Upstream over
the mesh client and the real EdgeAuth) served by uvicorn on loopback, python-socketio clients.

Revocations are driven through the `on_revoked` hook rather than a logout travelling through
Kafka to `RevokedSessions`: that path belongs to the auth tests."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import pytest
import pytest_asyncio
import socketio

from edge.auth import EdgeAuth
from edge.contracts import compiled_contracts
from edge.realtime import Realtime, RealtimeConfig
from edge.upstream import Upstream
from mesh.infra import Consul, Kafka
from mesh.tokens import TokenConfig
from mesh.tokens.remote import identity_verifier
from tests.conftest import eventually
from tests.e2e._platform import Platform, PlatformOptions, running_platform
from tests.e2e._users import Trader, new_trader, place, sign_up
from tests.unit.edge.realtime._serve import Client, serving, starlette_app

SERVICES = ("identity", "marketdata", "portfolio", "trading")
# Portfolio answers another user's portfolio as not found, or as not theirs.
REFUSED = {grpc.StatusCode.PERMISSION_DENIED.value[0], grpc.StatusCode.NOT_FOUND.value[0]}


@dataclass
class Edge:
    url: str
    realtime: Realtime
    revoked: set[str]
    callbacks: list[Callable[[str], None]]
    clients: list[Client] = field(default_factory=list)

    async def client(self, token: str) -> Client:
        client = Client()
        self.clients.append(client)
        await client.connect(self.url, token)
        return client

    def revoke(self, session_id: str) -> None:
        self.revoked.add(session_id)
        for callback in list(self.callbacks):
            callback(session_id)

    @property
    def upstream_streams(self) -> float:
        return float(self.realtime.metrics.upstream_streams._value.get())


# Module scope: the platform's identity must be gone from the shared Consul before other
# suites' identity processes are balanced over.
@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(
    consul: Consul, kafka: Kafka, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    workdir: Path = tmp_path_factory.mktemp("realtime")
    options = PlatformOptions(services=SERVICES)
    async with running_platform(consul, kafka.address, workdir, options) as up:
        yield up


@pytest_asyncio.fixture(loop_scope="session")
async def edge(platform: Platform) -> AsyncIterator[Edge]:
    revoked: set[str] = set()
    callbacks: list[Callable[[str], None]] = []

    async def is_revoked(session_id: str) -> bool:
        return session_id in revoked

    def on_revoked(callback: Callable[[str], None]) -> Callable[[], None]:
        callbacks.append(callback)
        return lambda: callbacks.remove(callback)

    mesh = platform.client()
    await mesh.start()
    try:
        realtime = Realtime(
            compiled_contracts(),
            Upstream(mesh),
            EdgeAuth(identity_verifier(mesh, TokenConfig()), is_revoked),
            RealtimeConfig(buffer_size=64, accept_window_seconds=1.0),
            on_revoked=on_revoked,
        )
        async with realtime, serving(realtime.asgi(starlette_app())) as url:
            running = Edge(url, realtime, revoked, callbacks)
            try:
                yield running
            finally:
                for client in running.clients:
                    await client.sio.disconnect()
        assert realtime.hub.rooms() == {}
        assert running.upstream_streams == 0
    finally:
        await mesh.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def trader(platform: Platform) -> Trader:
    return await new_trader(platform)


async def _until(check: Callable[[], object], what: str, timeout: float = 20) -> None:
    async def probe() -> bool:
        return bool(check())

    await eventually(probe, timeout=timeout, interval=0.05, what=what)


async def test_a_client_receives_quotes_numbered_in_order(edge: Edge, trader: Trader) -> None:
    client = await edge.client(trader.access_token)
    ack = await client.call("subscribe", {"room": "quotes:AAPL"})
    assert ack["ok"] is True and ack["room"] == "quotes:AAPL"
    await _until(lambda: len(client.seqs("quotes:AAPL")) >= 4, "four AAPL quotes")
    seqs = client.seqs("quotes:AAPL")
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(e["data"]["quote"]["symbol"] == "AAPL" for e in client.received["event"])


async def _streams_served(platform: Platform) -> float:
    """StreamQuotes calls the marketdata process is serving, from its own metrics."""
    await platform.mesh.connect("marketdata")  # discovers its instances
    (instance,) = platform.mesh.instances("marketdata")
    url = f"http://127.0.0.1:{instance.meta['metrics_port']}/metrics"
    async with httpx.AsyncClient() as http:
        text = (await http.get(url)).text
    found = re.search(r"^marketdata_stream_subscribers (\S+)$", text, re.MULTILINE)
    assert found, "marketdata_stream_subscribers not exported"
    return float(found.group(1))


async def test_twenty_clients_share_one_upstream_stream_cancelled_by_the_last_leave(
    edge: Edge, platform: Platform, trader: Trader
) -> None:
    clients = [await edge.client(trader.access_token) for _ in range(20)]
    acks = await asyncio.gather(*(c.call("subscribe", {"room": "quotes:MSFT"}) for c in clients))
    assert all(ack.get("ok") for ack in acks), acks
    assert edge.realtime.hub.rooms() == {"quotes:MSFT": 20}
    assert edge.upstream_streams == 1
    assert await _streams_served(platform) == 1
    await _until(
        lambda: all(len(c.seqs("quotes:MSFT")) >= 2 for c in clients), "quotes to every member"
    )
    for client in clients[:-1]:
        await client.sio.disconnect()
    await _until(lambda: edge.realtime.hub.rooms() == {"quotes:MSFT": 1}, "19 left")
    assert edge.realtime.hub.upstream_open("quotes:MSFT")
    await clients[-1].call("unsubscribe", {"room": "quotes:MSFT"})
    await _until(lambda: edge.upstream_streams == 0, "the upstream stream cancelled")
    assert edge.realtime.hub.rooms() == {}

    async def none_served() -> bool:
        return await _streams_served(platform) == 0

    await eventually(none_served, timeout=20, what="marketdata serving no stream")


async def test_orders_rooms_are_the_callers_own_and_carry_its_orders(
    edge: Edge, platform: Platform, trader: Trader
) -> None:
    client = await edge.client(trader.access_token)
    someone, *_ = await sign_up(platform)
    refused = await client.call("subscribe", {"room": f"orders:{someone}"})
    assert refused["error"]["code"] == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert edge.realtime.hub.rooms() == {}

    room = f"orders:{trader.user_id}"
    assert (await client.call("subscribe", {"room": room}))["ok"] is True
    order = await place(platform, trader, "KO", "1")

    def updates() -> list[str]:
        return [
            e["data"]["order"]["orderId"]
            for e in client.received.get("event", [])
            if e["room"] == room
        ]

    await _until(lambda: order.order_id in updates(), "the placed order's update")


async def test_the_service_refuses_a_portfolio_room_of_another_user(
    edge: Edge, platform: Platform, trader: Trader
) -> None:
    other = await new_trader(platform)
    client = await edge.client(trader.access_token)
    mine = await client.call("subscribe", {"room": f"portfolio:{trader.portfolio_id}"})
    assert mine["ok"] is True
    theirs = await client.call("subscribe", {"room": f"portfolio:{other.portfolio_id}"})
    assert theirs["error"]["code"] in REFUSED
    assert set(edge.realtime.hub.rooms()) == {f"portfolio:{trader.portfolio_id}"}
    # The owner's room is open; another user joining it is checked by the service too.
    intruder = await edge.client(other.access_token)
    denied = await intruder.call("subscribe", {"room": f"portfolio:{trader.portfolio_id}"})
    assert denied["error"]["code"] in REFUSED
    assert edge.realtime.hub.rooms() == {f"portfolio:{trader.portfolio_id}": 1}


async def test_a_client_back_with_its_last_seq_gets_what_it_missed(
    edge: Edge, trader: Trader
) -> None:
    keeper = await edge.client(trader.access_token)
    await keeper.call("subscribe", {"room": "quotes:NVDA"})
    leaving = await edge.client(trader.access_token)
    await leaving.call("subscribe", {"room": "quotes:NVDA"})
    await _until(lambda: leaving.seqs("quotes:NVDA"), "a first quote")
    await leaving.sio.disconnect()
    last = leaving.seqs("quotes:NVDA")[-1]
    await _until(lambda: keeper.seqs("quotes:NVDA")[-1] >= last + 3, "three quotes missed")

    back = await edge.client(trader.access_token)
    ack = await back.call("subscribe", {"room": "quotes:NVDA", "since": last})
    assert ack["ok"] is True and ack["resync"] is False
    replayed = back.seqs("quotes:NVDA")
    assert replayed[: ack["seq"] - last] == list(range(last + 1, ack["seq"] + 1))
    kept = {e["seq"]: e for e in keeper.received["event"]}
    assert [e for e in back.received["event"] if e["seq"] <= ack["seq"]] == [
        kept[seq] for seq in range(last + 1, ack["seq"] + 1)
    ]

    stale = await edge.client(trader.access_token)
    told = await stale.call("subscribe", {"room": "quotes:NVDA", "since": 1})
    assert told["ok"] is True and told["resync"] is True


async def test_a_revoked_session_is_disconnected(edge: Edge, platform: Platform) -> None:
    user_id, session_id, token, _ = await sign_up(platform)
    client = await edge.client(token)
    assert (await client.call("subscribe", {"room": f"orders:{user_id}"}))["ok"] is True
    edge.revoke(session_id)
    await _until(lambda: not client.sio.connected, "the revoked session disconnected")
    assert (
        client.received["session_revoked"][0]["error"]["code"]
        == (grpc.StatusCode.UNAUTHENTICATED.value[0])
    )
    await _until(lambda: edge.realtime.hub.rooms() == {}, "its room left")
    again = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect(edge.url, token)
    assert again.refusal["data"]["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
