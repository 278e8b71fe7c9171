"""Server streams over HTTP through nginx: Server-Sent Events or NDJSON by Accept, a final
error frame when the stream fails after it started, and the upstream call cancelled as soon
as the client goes away."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.conftest import eventually
from tests.e2e._platform import Platform
from tests.e2e.edge._gateway import Gateway
from tests.e2e.edge._rest import portfolio, register

QUOTES = "/api/v1/stocks/quotes/stream"


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event name, decoded data) of each Server-Sent Event; comments skipped."""
    event, data = "message", list[str]()
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if not line:
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", list[str]()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


async def test_sse_delivers_quotes_in_order(gateway: Gateway) -> None:
    async with gateway.client() as http:
        user = await register(http)
        headers = {**user.headers, "Accept": "text/event-stream"}
        async with http.stream("GET", QUOTES, params={"symbols": "AAPL"}, headers=headers) as got:
            assert got.status_code == 200
            assert got.headers["content-type"].startswith("text/event-stream")
            seen = []
            async for event, data in sse_events(got):
                assert event == "message"
                seen.append(data["quote"])
                if len(seen) == 3:
                    break
    assert {quote["symbol"] for quote in seen} == {"AAPL"}


async def test_ndjson_without_event_stream_accept(gateway: Gateway) -> None:
    async with gateway.client() as http:
        user = await register(http)
        params = httpx.QueryParams([("symbols", "AAPL"), ("symbols", "MSFT")])
        async with http.stream("GET", QUOTES, params=params, headers=user.headers) as got:
            assert got.status_code == 200
            assert got.headers["content-type"].startswith("application/x-ndjson")
            symbols = set()
            async for line in got.aiter_lines():
                symbols.add(json.loads(line)["quote"]["symbol"])
                if symbols == {"AAPL", "MSFT"}:
                    break


async def test_refusal_before_the_first_message_is_a_real_status(gateway: Gateway) -> None:
    async with gateway.client() as http:
        owner = await register(http, trader=True)
        stranger = await register(http, trader=True)
        portfolio_id = await portfolio(http, owner)
        got = await http.get(
            f"/api/v1/portfolios/{portfolio_id}/stream",
            headers={**stranger.headers, "Accept": "text/event-stream"},
        )
        assert got.status_code in (403, 404), got.text
        assert got.json()["code"] in (5, 7)
        anonymous = await http.get(QUOTES, params={"symbols": "AAPL"})
        assert anonymous.status_code == 401


def _in_flight(metrics: str, method: str) -> int:
    def total(name: str) -> float:
        pattern = rf'^{name}\{{[^}}]*grpc_method="{method}"[^}}]*\}} ([0-9.e+]+)$'
        return sum(float(v) for v in re.findall(pattern, metrics, re.MULTILINE))

    return int(total("grpc_client_started_total") - total("grpc_client_handled_total"))


async def test_client_disconnect_cancels_the_upstream_stream(gateway: Gateway) -> None:
    async with gateway.client() as http, httpx.AsyncClient(base_url=gateway.edge_url(0)) as edge:
        user = await register(http)
        before = _in_flight((await edge.get("/metrics")).text, "StreamQuotes")
        async with edge.stream(
            "GET", QUOTES, params={"symbols": "KO"}, headers=user.headers
        ) as got:
            async for _ in got.aiter_lines():
                break
            assert _in_flight((await edge.get("/metrics")).text, "StreamQuotes") == before + 1

        async def cancelled() -> bool:
            return _in_flight((await edge.get("/metrics")).text, "StreamQuotes") == before

        await eventually(cancelled, timeout=10, what="the upstream stream cancelled")


async def test_a_stream_failing_after_it_started_ends_with_an_error_frame(
    gateway: Gateway, platform: Platform
) -> None:
    async with gateway.client() as http:
        user = await register(http)
        headers = {**user.headers, "Accept": "text/event-stream"}
        frames: list[tuple[str, Any]] = []
        async with http.stream("GET", QUOTES, params={"symbols": "JPM"}, headers=headers) as got:
            assert got.status_code == 200
            async for event, data in sse_events(got):
                frames.append((event, data))
                if len(frames) == 1:
                    await platform.kill("marketdata")
                if event == "error":
                    break
        await platform.launch("marketdata")
    assert frames[0][0] == "message"
    event, status = frames[-1]
    assert event == "error", frames
    assert status["code"] in (1, 14), status  # CANCELLED or UNAVAILABLE, as a Status
