"""A route added to a running service's contract appears at the running edges via server
reflection: a service defined only in this test is served through nginx and by each edge once
it registers, its second version's new method too, and its routes go when it leaves Consul —
all without restarting an edge."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.conftest import eventually
from tests.e2e._platform import Platform
from tests.e2e.edge._gateway import Gateway
from tests.e2e.edge._probe import ECHO, ECHO_PATH, GET, GET_PATH, probe_server

# The edges re-read contracts on each Consul change and every 2 s; this is the slack.
TIMEOUT = 20.0


def _reasons(answer: httpx.Response) -> list[str]:
    return [d["reason"] for d in answer.json().get("details", []) if "reason" in d]


def _bases(gateway: Gateway) -> list[str]:
    """nginx, then each edge directly: a route nginx answers may come from either edge."""
    return [gateway.url, *(gateway.edge_url(i) for i in range(len(gateway.edges)))]


def _pids(gateway: Gateway) -> list[int | None]:
    return [edge.process.pid() for edge in gateway.edges]


async def _all(
    http: httpx.AsyncClient, gateway: Gateway, method: str, path: str, **kwargs: Any
) -> list[httpx.Response]:
    return [await http.request(method, base + path, **kwargs) for base in _bases(gateway)]


async def _documented(http: httpx.AsyncClient, gateway: Gateway) -> list[dict[str, Any]]:
    """Each edge's OpenAPI paths, as that edge serves its document now."""
    paths = []
    for i in range(len(gateway.edges)):
        answer = await http.get(f"{gateway.edge_url(i)}/openapi.json")
        assert answer.status_code == 200, answer.text
        paths.append(answer.json()["paths"])
    return paths


async def _unknown_everywhere(http: httpx.AsyncClient, gateway: Gateway, path: str) -> bool:
    for answer in await _all(http, gateway, "GET", path):
        assert answer.status_code == 404, (answer.url, answer.status_code, answer.text)
        assert answer.json()["code"] == 5, answer.text
        assert _reasons(answer) == ["ROUTE_NOT_FOUND"], answer.text
    return True


async def test_a_route_added_to_a_running_service_appears_at_the_running_edges(
    gateway: Gateway, platform: Platform
) -> None:
    name = f"probe{uuid.uuid4().hex[:8]}"
    pids = _pids(gateway)
    assert None not in pids
    get_path = GET_PATH.format(name="alpha")
    echo_path = ECHO_PATH.format(name="beta")
    consul = (platform.consul.address, platform.tls_dir)
    async with asyncio.timeout(60), httpx.AsyncClient(timeout=10.0) as http:
        # Nothing answers for the probe yet: not through nginx, not at either edge.
        await _unknown_everywhere(http, gateway, get_path)
        assert all(GET_PATH not in paths for paths in await _documented(http, gateway))

        async with probe_server(name, *consul, (GET,), "first"):

            async def get_served() -> bool:
                for answer in await _all(http, gateway, "GET", get_path):
                    assert answer.status_code == 200, (answer.url, answer.status_code, answer.text)
                    assert answer.json() == {"echoedName": "alpha", "servedBy": "first/GetProbe"}
                return True

            await eventually(get_served, timeout=TIMEOUT, what="GET of the probe on every edge")
            for paths in await _documented(http, gateway):
                assert set(paths[GET_PATH]) >= {"get"}, paths[GET_PATH]
                assert ECHO_PATH not in paths
            # The first version has no echo: its path reads as GET's `{name}`, which is GET only.
            for answer in await _all(http, gateway, "POST", echo_path, json={}):
                assert answer.status_code == 405, (answer.url, answer.status_code, answer.text)
                assert "POST" not in answer.headers["allow"]

        # The same service again, its contract grown by a method.
        async with probe_server(name, *consul, (GET, ECHO), "second"):

            async def echo_served() -> bool:
                body = {"extraText": "hello"}
                for answer in await _all(http, gateway, "POST", echo_path, json=body):
                    assert answer.status_code == 200, (answer.url, answer.status_code, answer.text)
                    assert answer.json() == {
                        "echoedName": "beta",
                        "echoedText": "hello",
                        "servedBy": "second/EchoProbe",
                    }
                for answer in await _all(http, gateway, "GET", get_path):
                    assert answer.status_code == 200, (answer.url, answer.status_code, answer.text)
                    assert answer.json()["servedBy"] == "second/GetProbe"
                return True

            await eventually(echo_served, timeout=TIMEOUT, what="the added method on every edge")
            for paths in await _documented(http, gateway):
                assert set(paths[ECHO_PATH]) >= {"post"}, paths.get(ECHO_PATH)
                assert set(paths[GET_PATH]) >= {"get"}, paths[GET_PATH]

        # Stopped, the probe is out of Consul and its routes are gone again.
        catalog = await http.get(f"{platform.consul.address}/v1/catalog/service/{name}")
        assert catalog.status_code == 200 and catalog.json() == [], catalog.text

        async def gone() -> bool:
            return await _unknown_everywhere(http, gateway, get_path)

        await eventually(gone, timeout=TIMEOUT, what="the probe's routes dropped")
        assert all(GET_PATH not in paths for paths in await _documented(http, gateway))
    # Learnt and dropped by the same edge processes, none restarted.
    assert _pids(gateway) == pids
