"""nginx in front of the edges: a burst over the per-address limit answered 429 by nginx, a
burst over the per-user limit answered 429 by the edge, and an edge that dies routed around."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from tests.e2e._platform import Platform
from tests.e2e.edge._gateway import running_gateway
from tests.e2e.edge._rest import register


async def test_a_burst_over_the_address_limit_gets_429_from_nginx(
    platform: Platform, tmp_path: Path
) -> None:
    async with (
        running_gateway(platform, tmp_path, edges=1, rate_per_second=2, burst=3) as gateway,
        gateway.client() as http,
    ):
        answers = await asyncio.gather(*(http.get("/api/v1/stocks/AAPL") for _ in range(30)))
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    body = limited[0].json()
    assert body["code"] == 8
    assert body["details"][0]["reason"] == "RATE_LIMITED"
    assert limited[0].headers["retry-after"] == "1"
    # The rest got through to the edge, which refused them for want of a token.
    assert {a.status_code for a in answers} <= {401, 429}


async def test_a_burst_over_the_user_limit_gets_429_from_the_edge(
    platform: Platform, tmp_path: Path
) -> None:
    limits = {
        "TRADEMESH_EDGE_LIMITS_ENABLED": "true",
        "TRADEMESH_EDGE_LIMITS_USER_REQUESTS_PER_SECOND": "2",
        "TRADEMESH_EDGE_LIMITS_USER_BURST": "5",
    }
    async with (
        running_gateway(platform, tmp_path, edges=1, env=limits) as gateway,
        gateway.client() as http,
    ):
        user = await register(http)
        answers = [await http.get("/api/v1/stocks/AAPL", headers=user.headers) for _ in range(12)]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [200] * 5, codes
    refused = [a for a in answers if a.status_code == 429]
    assert refused, codes
    assert int(refused[0].headers["retry-after"]) >= 1
    assert refused[0].headers["ratelimit-remaining"] == "0"
    assert refused[0].json()["code"] == 8
    assert "ratelimit-limit" in answers[0].headers


async def test_requests_keep_succeeding_when_an_edge_dies(
    platform: Platform, tmp_path: Path
) -> None:
    async with (
        # The load is one user's: only the edge that dies may refuse anything.
        running_gateway(
            platform, tmp_path, edges=2, env={"TRADEMESH_EDGE_LIMITS_ENABLED": "false"}
        ) as gateway,
        gateway.client() as http,
    ):
        user = await register(http)
        stop = asyncio.Event()
        codes: list[int] = []

        async def load() -> None:
            while not stop.is_set():
                answer = await http.get("/api/v1/stocks/MSFT", headers=user.headers)
                codes.append(answer.status_code)

        workers = [asyncio.create_task(load()) for _ in range(8)]
        try:
            await asyncio.sleep(1.0)
            before = len(codes)
            pid = gateway.edges[0].process.pid()
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(3.0)
        finally:
            stop.set()
            await asyncio.gather(*workers)
    assert len(codes) > before > 0
    assert set(codes) == {200}, {c: codes.count(c) for c in set(codes)}
