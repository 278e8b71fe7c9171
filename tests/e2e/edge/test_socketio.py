"""Socket.IO through nginx and the edges: python-socketio's AsyncClient and the official
JavaScript client (run with node) join quotes, orders and portfolio rooms and receive the
events of an order placed over REST; joins of somebody else's rooms are refused; a client
that comes back with its last sequence number gets what it missed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import socketio

from tests.conftest import eventually
from tests.e2e.edge._gateway import Gateway
from tests.e2e.edge._rest import RestUser, market_order, ok, portfolio, register
from tests.integration.edge.jsclient._node import DONE, JsClient, NodeClient
from tests.unit.edge.realtime._serve import Client


async def _place(http: httpx.AsyncClient, user: RestUser, portfolio_id: str) -> str:
    order = market_order(portfolio_id)
    placed = ok(await http.post("/api/v1/orders", json=order, headers=user.headers), 202)
    return str(placed["order"]["orderId"])


def holds(condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return condition()

    return check


def _events(client: Client, room: str) -> list[dict[str, Any]]:
    return [e for e in client.received.get("event", []) if e["room"] == room]


async def test_rooms_carry_the_events_of_an_order_placed_over_rest(gateway: Gateway) -> None:
    async with gateway.client() as http:
        user = await register(http, trader=True)
        portfolio_id = await portfolio(http, user)
        client = Client()
        await client.connect(gateway.url, user.token)
        try:
            rooms = ["quotes:AAPL", f"orders:{user.user_id}", f"portfolio:{portfolio_id}"]
            for room in rooms:
                ack = await client.call("subscribe", {"room": room})
                assert ack.get("ok") is True and ack["room"] == room, ack
            order_id = await _place(http, user, portfolio_id)

            async def delivered() -> bool:
                orders = [e["data"] for e in _events(client, rooms[1])]
                filled = any(
                    o["order"]["orderId"] == order_id
                    and o["order"]["status"] == "ORDER_STATUS_FILLED"
                    for o in orders
                )
                return (
                    filled and bool(_events(client, rooms[2])) and len(client.seqs(rooms[0])) >= 2
                )

            await eventually(delivered, timeout=30, what="order, portfolio and quote events")
            for room in rooms:
                seqs = client.seqs(room)
                assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), (room, seqs)
            assert {e["data"]["quote"]["symbol"] for e in _events(client, rooms[0])} == {"AAPL"}
        finally:
            await client.sio.disconnect()


async def test_joins_of_somebody_elses_rooms_and_anonymous_connections_are_refused(
    gateway: Gateway,
) -> None:
    async with gateway.client() as http:
        owner = await register(http, trader=True)
        owners_portfolio = await portfolio(http, owner)
        intruder = await register(http, trader=True)
    anonymous = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await anonymous.connect(gateway.url, None)
    assert anonymous.refusal is not None
    client = Client()
    await client.connect(gateway.url, intruder.token)
    try:
        orders = await client.call("subscribe", {"room": f"orders:{owner.user_id}"})
        assert orders["error"]["code"] == 7, orders  # PERMISSION_DENIED, before any stream
        watched = await client.call("subscribe", {"room": f"portfolio:{owners_portfolio}"})
        assert watched["error"]["code"] in (5, 7), watched  # refused by portfolio itself
        unknown = await client.call("subscribe", {"room": "secrets:all"})
        assert unknown["error"]["code"] == 3, unknown
    finally:
        await client.sio.disconnect()


async def test_a_client_back_with_its_sequence_number_gets_what_it_missed(
    gateway: Gateway,
) -> None:
    async with gateway.client() as http:
        user = await register(http)
    first = Client()
    await first.connect(gateway.url, user.token)
    try:
        # Two members keep the room open while the first one is away.
        keeper = Client()
        await keeper.connect(gateway.url, user.token)
        try:
            for member in (first, keeper):
                assert (await member.call("subscribe", {"room": "quotes:MSFT"}))["ok"] is True
            await eventually(
                holds(lambda: len(first.seqs("quotes:MSFT")) >= 1), timeout=15, what="a quote"
            )
            last = first.seqs("quotes:MSFT")[-1]
            await first.sio.disconnect()
            await eventually(
                holds(lambda: [s for s in keeper.seqs("quotes:MSFT") if s > last] != []),
                timeout=15,
                what="quotes while the first client is away",
            )
            back = Client()
            await back.connect(gateway.url, user.token)
            try:
                ack = await back.call("subscribe", {"room": "quotes:MSFT", "since": last})
                assert ack["ok"] is True and not ack.get("resync"), ack
                missed = [s for s in keeper.seqs("quotes:MSFT") if s > last]
                await eventually(
                    holds(lambda: back.seqs("quotes:MSFT")[: len(missed)] == missed),
                    timeout=10,
                    what="the missed events replayed in order",
                )
            finally:
                await back.sio.disconnect()
        finally:
            await keeper.sio.disconnect()
    finally:
        if first.sio.connected:
            await first.sio.disconnect()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_the_javascript_client_receives_order_events(
    gateway: Gateway, transport: str
) -> None:
    async with gateway.client() as http:
        user = await register(http, trader=True)
        portfolio_id = await portfolio(http, user)
        options = JsClient(
            gateway.url,
            room=f"orders:{user.user_id}",
            token=user.token,
            count=1,
            timeout_seconds=30,
            transport=transport,
        )
        async with NodeClient(options) as node:
            ack = await node.until("ack")
            assert ack["ack"]["ok"] is True, ack
            order_id = await _place(http, user, portfolio_id)
            rest = await node.rest()
    events = [line["payload"] for line in rest if line["type"] == "event"]
    assert events and events[0]["data"]["order"]["orderId"] == order_id, rest
    assert rest[-1]["type"] == "exit" and rest[-1]["code"] == DONE, rest


async def test_the_javascript_client_is_refused_without_a_valid_token(gateway: Gateway) -> None:
    options = JsClient(gateway.url, room="quotes:AAPL", token="not-a-token", timeout_seconds=10)
    async with NodeClient(options) as node:
        lines = await node.rest()
    assert any(line["type"] == "connect_error" for line in lines), lines
