"""A server with the full chain and an endless `yield`-style stream, abandoned by hundreds of
callers; run as its own process because a chain that touches a released call crashes it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc
from prometheus_client import CollectorRegistry
from trademesh.marketdata.v1 import marketdata_pb2, marketdata_pb2_grpc

from interceptors import ServerInterceptorConfig, server_interceptors
from mesh.tokens import AsyncTokenVerifier, JwksCache, TokenConfig

STREAMS = 300
ROUNDS = 3


class Endless(marketdata_pb2_grpc.MarketDataServiceServicer):
    async def StreamQuotes(
        self, request: marketdata_pb2.StreamQuotesRequest, context: Any
    ) -> AsyncIterator[marketdata_pb2.StreamQuotesResponse]:
        while True:
            yield marketdata_pb2.StreamQuotesResponse(quote=marketdata_pb2.Quote(symbol="AAPL"))
            await asyncio.sleep(0.001)


async def main() -> int:
    async def no_keys() -> dict[str, Any]:
        return {"keys": []}

    config = ServerInterceptorConfig(
        service_name="probe",
        verifier=AsyncTokenVerifier(JwksCache(no_keys), TokenConfig()),
        registry=CollectorRegistry(),
        public_methods=frozenset({"/trademesh.marketdata.v1.MarketDataService/StreamQuotes"}),
    )
    server = grpc.aio.server(interceptors=server_interceptors(config))
    marketdata_pb2_grpc.add_MarketDataServiceServicer_to_server(Endless(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    request = marketdata_pb2.StreamQuotesRequest(symbols=["AAPL"])
    for _ in range(ROUNDS):
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        stub = marketdata_pb2_grpc.MarketDataServiceStub(channel)
        calls = [stub.StreamQuotes(request) for _ in range(STREAMS)]
        for call in calls:
            await call.read()
        for i, call in enumerate(calls):
            if i % 2:
                call.cancel()
        await channel.close(grace=None)  # the rest vanish with their channel
        await asyncio.sleep(0.2)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = marketdata_pb2_grpc.MarketDataServiceStub(channel).StreamQuotes(request)
        assert (await call.read()).quote.symbol == "AAPL"
        call.cancel()
    await server.stop(1)
    print("served after", ROUNDS * STREAMS, "abandoned streams")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
