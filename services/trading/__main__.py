"""`python -m services.trading`: the trading service as a mesh server."""

from __future__ import annotations

import sys
from typing import Any

from mesh.client import MeshClient
from mesh.server import ServiceSpec
from mesh.server.run import RunContext, run_service
from services.runtime import open_runtime
from services.trading.app import Upstreams, build_trading
from services.trading.config import TradingConfig
from services.trading.upstreams import GrpcCash, GrpcHoldings, GrpcMarket

NAME = "trading"


def mesh_upstreams(mesh: MeshClient) -> Upstreams:
    """marketdata and portfolio as Consul lists them, called through the mesh client."""

    async def marketdata() -> Any:
        return await mesh.connect("marketdata")

    async def portfolio() -> Any:
        return await mesh.connect("portfolio")

    return Upstreams(
        market=GrpcMarket(marketdata), cash=GrpcCash(portfolio), holdings=GrpcHoldings(portfolio)
    )


async def build(ctx: RunContext) -> ServiceSpec:
    config = TradingConfig.load(toml=ctx.toml)
    runtime = await open_runtime(ctx)
    trading = await build_trading(
        config,
        mesh_upstreams(runtime.mesh),
        events=runtime.events,
        registry=ctx.registry,
        extra_workers=runtime.workers,
    )
    return trading.service_spec(runtime.interceptors())


if __name__ == "__main__":
    sys.exit(run_service(NAME, build))
