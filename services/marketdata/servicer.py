"""MarketDataService over gRPC: instruments from the universe, quotes from the board.

Requests reach here already validated against the contract's rules; what those cannot know
(which symbols exist) is checked here and answered with NOT_FOUND naming the symbols.
"""

from __future__ import annotations

from typing import Any

import grpc
from trademesh.marketdata.v1 import marketdata_pb2 as pb
from trademesh.marketdata.v1 import marketdata_pb2_grpc as pb_grpc

from services.marketdata import convert
from services.marketdata.board import QuoteBoard
from services.marketdata.instruments import Universe

ServicerContext = grpc.aio.ServicerContext[Any, Any]


class MarketDataServicer(pb_grpc.MarketDataServiceServicer):
    def __init__(self, universe: Universe, board: QuoteBoard) -> None:
        self._universe = universe
        self._board = board

    async def SearchInstruments(
        self, request: pb.SearchInstrumentsRequest, context: ServicerContext
    ) -> pb.SearchInstrumentsResponse:
        page = self._universe.search(
            request.query, page_size=request.page_size, page_token=request.page_token
        )
        return pb.SearchInstrumentsResponse(
            instruments=[convert.instrument_message(i) for i in page.instruments],
            next_page_token=page.next_page_token,
        )

    async def GetInstrument(
        self, request: pb.GetInstrumentRequest, context: ServicerContext
    ) -> pb.GetInstrumentResponse:
        instrument = self._universe.get(request.symbol)
        return pb.GetInstrumentResponse(instrument=convert.instrument_message(instrument))

    async def GetQuote(
        self, request: pb.GetQuoteRequest, context: ServicerContext
    ) -> pb.GetQuoteResponse:
        symbol = self._universe.get(request.symbol).symbol
        (quote,) = self._board.latest([symbol])
        return pb.GetQuoteResponse(quote=convert.quote_message(quote))

    async def GetQuotes(
        self, request: pb.GetQuotesRequest, context: ServicerContext
    ) -> pb.GetQuotesResponse:
        symbols = self._universe.require(request.symbols)
        quotes = self._board.latest(symbols)
        return pb.GetQuotesResponse(quotes=[convert.quote_message(q) for q in quotes])

    async def StreamQuotes(  # type: ignore[override]  # the stub only knows generators
        self, request: pb.StreamQuotesRequest, context: ServicerContext
    ) -> None:
        symbols = self._universe.require(request.symbols)
        # Written through the context rather than yielded: when the caller goes away grpc
        # raises inside the awaited write, so this frame and every interceptor around it
        # unwind while the call still exists. (An async generator abandoned at a `yield` is
        # only closed later by the garbage collector, after grpc has released the call.)
        # The subscription leaves the board however the stream ends: the caller cancels,
        # its deadline fires, the channel closes or the server stops.
        with self._board.subscribe(symbols) as subscription:
            while True:
                for quote in await subscription.next_batch():
                    await context.write(pb.StreamQuotesResponse(quote=convert.quote_message(quote)))
