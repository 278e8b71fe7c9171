"""Assemble the marketdata service from its config: universe, feed, board, publisher, servicer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import grpc
from trademesh.marketdata.v1 import marketdata_pb2, marketdata_pb2_grpc

from mesh.lifecycle import Lifecycle
from mesh.server import Servicer, ServiceSpec
from services.marketdata.board import QuoteBoard
from services.marketdata.config import MarketDataConfig
from services.marketdata.instruments import Universe
from services.marketdata.publisher import QuotePublisher, Send
from services.marketdata.quotes import QuoteProvider
from services.marketdata.servicer import MarketDataServicer
from services.marketdata.simulated import SimulatedFeed, WalkSettings
from services.marketdata.universe import INSTRUMENTS

Closer = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class MarketData:
    """The assembled, running service. `close()` stops the feed and the publisher, then runs
    `closers` (the producer, the mesh client) in order; safe to call twice."""

    config: MarketDataConfig
    universe: Universe
    board: QuoteBoard
    servicer: MarketDataServicer
    publisher: QuotePublisher | None = None
    closers: list[Closer] = field(default_factory=list)

    def service_spec(
        self,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        *,
        workers: Sequence[Lifecycle] = (),
    ) -> ServiceSpec:
        """The servicer, the `workers` to run beside it (the mesh client, the revocation
        consumer), and `close` for after the drain."""
        return ServiceSpec(
            name="marketdata",
            servicers=[
                Servicer(
                    add_to_server=marketdata_pb2_grpc.add_MarketDataServiceServicer_to_server,
                    implementation=self.servicer,
                    full_name=marketdata_pb2.DESCRIPTOR.services_by_name[
                        "MarketDataService"
                    ].full_name,
                )
            ],
            interceptors=interceptors,
            workers=workers,
            on_stop=(self.close,),
        )

    async def close(self) -> None:
        await self.board.stop()
        if self.publisher is not None:
            await self.publisher.stop()
        closers, self.closers = self.closers, []
        for closer in closers:
            await closer()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def universe_for(config: MarketDataConfig) -> Universe:
    universe = Universe(INSTRUMENTS)
    return universe.subset(config.symbols) if config.symbols else universe


def simulated_feed(config: MarketDataConfig, universe: Universe) -> SimulatedFeed:
    return SimulatedFeed(
        universe.instruments,
        seed=config.seed,
        tick_interval_seconds=config.tick_interval_seconds,
        settings=WalkSettings(volatility=config.volatility, spread_bps=config.spread_bps),
    )


async def build_marketdata(
    config: MarketDataConfig,
    *,
    send: Send | None = None,
    provider: QuoteProvider | None = None,
    universe: Universe | None = None,
    closers: Sequence[Closer] = (),
) -> MarketData:
    """Start the feed (the simulated one unless `provider` is given) and, when `send` is
    given and the config publishes quotes, the QuoteUpdated publisher.

    `closers` run after the feed and publisher stop, also when the build itself fails.
    """
    universe = universe or universe_for(config)
    board = QuoteBoard(
        provider or simulated_feed(config, universe), max_subscribers=config.max_subscribers
    )
    publisher = None
    if send is not None and config.publish_quotes:
        publisher = QuotePublisher(send)
        board.add_listener(publisher.offer)
    built = MarketData(
        config=config,
        universe=universe,
        board=board,
        servicer=MarketDataServicer(universe, board),
        publisher=publisher,
        closers=list(closers),
    )
    try:
        if publisher is not None:
            await publisher.start()
        await board.start()
    except BaseException:
        await built.close()
        raise
    return built
