"""`python -m services.marketdata`: the marketdata service as a mesh server."""

from __future__ import annotations

import sys

from mesh.server import ServiceSpec
from mesh.server.run import RunContext, run_service
from services.marketdata.app import build_marketdata
from services.marketdata.config import MarketDataConfig
from services.marketdata.kafka import LazyProducer
from services.marketdata.metrics import MarketDataCollector
from services.marketdata.publisher import Send
from services.runtime import open_runtime

NAME = "marketdata"


async def build(ctx: RunContext) -> ServiceSpec:
    config = MarketDataConfig.load(toml=ctx.toml)
    runtime = await open_runtime(ctx)
    send: Send | None = None
    closers = []
    if config.publish_quotes:
        producer = LazyProducer(runtime.events, source=NAME, registry=ctx.registry)
        send, closers = producer.send, [producer.stop]
    marketdata = await build_marketdata(config, send=send, closers=closers)
    ctx.registry.register(MarketDataCollector(marketdata.board, marketdata.publisher))
    return marketdata.service_spec(runtime.interceptors(), workers=runtime.workers)


if __name__ == "__main__":
    sys.exit(run_service(NAME, build))
