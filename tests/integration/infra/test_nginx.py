"""Real nginx with the config rendered from nginx/, proxying to small upstreams on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from mesh.infra import Nginx, NginxConfig
from mesh.infra.ports import free_ports


class Upstream:
    """A minimal HTTP/1.1 server that echoes what it received as JSON."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[dict[str, str]] = []
        self.server: asyncio.Server | None = None

    async def start(self, port: int) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.lower(): v.strip()
                    for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
                }
                length = int(headers.get("content-length", "0"))
                if length:
                    await reader.readexactly(length)
                seen = {
                    "edge": self.name,
                    "method": method,
                    "path": path,
                    "correlation_id": headers.get("x-correlation-id", ""),
                }
                self.seen.append(seen)
                body = json.dumps(seen).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest_asyncio.fixture
async def edges() -> AsyncIterator[tuple[list[int], list[Upstream]]]:
    ports = free_ports(2)
    upstreams = [Upstream("edge-a"), Upstream("edge-b")]
    for upstream, port in zip(upstreams, ports, strict=True):
        await upstream.start(port)
    yield ports, upstreams
    for upstream in upstreams:
        await upstream.stop()


async def _nginx(tmp_path: Path, edge_ports: list[int], **overrides: int) -> Nginx:
    (port,) = free_ports(1)
    nginx = Nginx(NginxConfig(port=port, edge_ports=tuple(edge_ports), **overrides), tmp_path)
    await nginx.start()
    return nginx


async def test_proxies_to_edges_with_a_correlation_id(
    tmp_path: Path, edges: tuple[list[int], list[Upstream]]
) -> None:
    ports, upstreams = edges
    nginx = await _nginx(tmp_path, ports)
    try:
        async with httpx.AsyncClient(base_url=nginx.address) as http:
            resp = await http.get("/api/v1/stocks/AAPL")
            assert resp.status_code == 200
            body = resp.json()
            assert body["path"] == "/api/v1/stocks/AAPL"
            assert len(body["correlation_id"]) == 32  # nginx's $request_id
            assert resp.headers["x-correlation-id"] == body["correlation_id"]

            resp = await http.get("/api/v1/trades", headers={"X-Correlation-Id": "cid-123"})
            assert resp.json()["correlation_id"] == "cid-123"

            for _ in range(8):
                assert (await http.get("/api/v1/trades")).status_code == 200
        assert all(u.seen for u in upstreams), "least_conn should use both edges"
    finally:
        await nginx.stop()
    assert nginx.process.pid() is None


async def test_json_errors_when_no_edge_answers_or_body_too_large(
    tmp_path: Path, edges: tuple[list[int], list[Upstream]]
) -> None:
    ports, upstreams = edges
    nginx = await _nginx(tmp_path, ports, client_max_body_kb=1)
    try:
        async with httpx.AsyncClient(base_url=nginx.address) as http:
            resp = await http.post("/api/v1/orders", content=b"x" * 4096)
            assert resp.status_code == 413
            assert resp.json()["code"] == 8  # RESOURCE_EXHAUSTED, as a google.rpc.Status
            assert resp.json()["details"][0]["reason"] == "BODY_TOO_LARGE"

            for upstream in upstreams:
                await upstream.stop()
            resp = await http.get("/api/v1/orders")
            assert resp.status_code == 502
            status = resp.json()
            assert status["code"] == 14  # UNAVAILABLE
            info = status["details"][0]
            assert info["reason"] == "EDGE_UNREACHABLE"
            assert info["metadata"]["correlation_id"] == resp.headers["x-correlation-id"]
    finally:
        await nginx.stop()


async def test_rate_limit_per_client_answers_429_json(
    tmp_path: Path, edges: tuple[list[int], list[Upstream]]
) -> None:
    ports, _ = edges
    nginx = await _nginx(tmp_path, ports, rate_per_second=1, burst=2)
    try:
        async with httpx.AsyncClient(base_url=nginx.address) as http:
            codes = [(await http.get("/api/v1/trades")).status_code for _ in range(10)]
            limited = await http.get("/api/v1/trades")
    finally:
        await nginx.stop()
    assert codes.count(200) >= 1
    assert 429 in codes
    assert limited.status_code == 429
    status = limited.json()
    assert status["code"] == 8
    assert [d["reason"] for d in status["details"] if "reason" in d] == ["RATE_LIMITED"]
    assert limited.headers["retry-after"] == "1"


async def test_invalid_config_is_reported_before_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="edge"):
        NginxConfig(edge_ports=())
