"""`python -m services.portfolio`: the portfolio service as a mesh server."""

from __future__ import annotations

import sys

from mesh.server import ServiceSpec
from mesh.server.run import RunContext, run_service
from services.portfolio.app import SERVICE, build_portfolio
from services.portfolio.config import PortfolioConfig
from services.portfolio.quotes import MarketDataQuotes
from services.runtime import open_runtime


async def build(ctx: RunContext) -> ServiceSpec:
    config = PortfolioConfig.load(toml=ctx.toml)
    runtime = await open_runtime(ctx)
    portfolio = await build_portfolio(
        config,
        runtime.events,
        quotes=MarketDataQuotes(
            lambda: runtime.mesh.connect("marketdata"),
            timeout_seconds=config.quote_timeout_seconds,
        ),
        registry=ctx.registry,
        extra=runtime.workers,
    )
    return portfolio.service_spec(runtime.interceptors())


if __name__ == "__main__":
    sys.exit(run_service(SERVICE, build))
