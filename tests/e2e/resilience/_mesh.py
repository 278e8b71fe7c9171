"""The platform the faults are injected into: two instances each of marketdata and portfolio
(sharing portfolio's state on PostgreSQL), one of every other service, an edge in front, and
a user with a portfolio whose reads make the load; resilience settings short enough for
ejections, half-open probes and deadlines to happen within a test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests._postgres import PostgresServer
from tests.e2e._platform import (
    SERVICES,
    SYMBOLS,
    Platform,
    PlatformOptions,
    own_infra,
    running_platform,
)
from tests.e2e.edge._gateway import Gateway, running_gateway
from tests.e2e.edge._rest import RestUser, portfolio, register
from tests.e2e.resilience._load import Load, LoadConfig, Target

REPLICATED: tuple[str, ...] = ("marketdata", "portfolio")
GRPC_SERVICES: Mapping[str, str] = {
    "marketdata": "trademesh.marketdata.v1.MarketDataService",
    "portfolio": "trademesh.portfolio.v1.PortfolioService",
}

# The client deadline bounds a call to a frozen instance (short, so a freeze shows within a
# test, yet with room for a process starting on a busy 2-core host); a breaker ejects for 2 s
# at first (at most 8), so half-open probes come within a test. The breaker's trigger and the retry
# budget's floor are the defaults, set here because the tests' bounds are derived from them.
DEADLINE_SECONDS = 2.0
CONSECUTIVE_FAILURES = 5
RETRY_BUDGET_MIN_PER_SECOND = 1.0
RETRY_BUDGET_WINDOW_SECONDS = 10.0
RESILIENCE_ENV: Mapping[str, str] = {
    "TRADEMESH_CLIENT_DEFAULT_TIMEOUT_SECONDS": str(DEADLINE_SECONDS),
    "TRADEMESH_BREAKER_BASE_EJECTION_SECONDS": "2",
    "TRADEMESH_BREAKER_MAX_EJECTION_SECONDS": "8",
    "TRADEMESH_BREAKER_CONSECUTIVE_FAILURES": str(CONSECUTIVE_FAILURES),
    "TRADEMESH_RETRY_BUDGET_MIN_RETRIES_PER_SECOND": str(RETRY_BUDGET_MIN_PER_SECOND),
    "TRADEMESH_RETRY_BUDGET_WINDOW_SECONDS": str(RETRY_BUDGET_WINDOW_SECONDS),
}
# Consul checks the services every 3 s (5 s timeout), as in production (2 s) rather than the
# 0.5 s other suites use: a frozen or killed instance is still listed for seconds, so it is
# the breakers that must take it out first; and a check starved of CPU on a busy machine
# fails less often.
CHECK_INTERVAL_SECONDS = 3.0
SERVICE_ENV: Mapping[str, str] = {
    **RESILIENCE_ENV,
    "TRADEMESH_SERVER_CHECK_INTERVAL_SECONDS": str(CHECK_INTERVAL_SECONDS),
}
# The edge gives a REST call the same deadline, and does not rate-limit the one test user.
EDGE_ENV: Mapping[str, str] = {
    **RESILIENCE_ENV,
    "TRADEMESH_EDGE_REQUEST_TIMEOUT_SECONDS": str(DEADLINE_SECONDS),
    "TRADEMESH_EDGE_LIMITS_ENABLED": "false",
}


@dataclass
class Mesh:
    platform: Platform
    gateway: Gateway
    user: RestUser
    portfolio_id: str

    def targets(self, edge_url: str) -> list[Target]:
        """Reads of both replicated services through the edge at `edge_url`, alternating."""
        targets: list[Target] = []
        for symbol in SYMBOLS:
            targets.append(
                Target("marketdata", f"{edge_url}/api/v1/stocks/{symbol}/quote", self.user.headers)
            )
            targets.append(
                Target(
                    "portfolio",
                    f"{edge_url}/api/v1/portfolios/{self.portfolio_id}",
                    self.user.headers,
                )
            )
        return targets

    def load(self, config: LoadConfig | None = None, edge_url: str | None = None) -> Load:
        return Load(self.targets(edge_url or self.gateway.edge_url(0)), config)


@asynccontextmanager
async def running_mesh(postgres: PostgresServer, workdir: Path) -> AsyncIterator[Mesh]:
    database = postgres.create_database()
    url = postgres.url(database)
    options = PlatformOptions(
        database_urls={name: url for name in SERVICES},
        tick_interval_seconds=0.5,
        env={name: SERVICE_ENV for name in SERVICES},
        replicas={name: 2 for name in REPLICATED},
    )
    try:
        async with (
            own_infra(workdir / "infra") as infra,
            running_platform(infra.consul, infra.kafka.address, workdir, options) as platform,
            running_gateway(platform, workdir / "gateway", edges=1, env=EDGE_ENV) as gateway,
        ):
            async with httpx.AsyncClient(base_url=gateway.edge_url(0), timeout=30.0) as http:
                user = await register(http, trader=True)
                portfolio_id = await portfolio(http, user)
            yield Mesh(platform, gateway, user, portfolio_id)
    finally:
        postgres.drop_database(database)
