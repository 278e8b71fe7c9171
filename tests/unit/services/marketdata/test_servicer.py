"""MarketDataService over a real grpc.aio server on loopback behind the real interceptor chain
(auth from the contract's access options, protovalidate, error mapping), fed by the seeded
simulated feed."""

from __future__ import annotations

import inspect
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from trademesh.marketdata.v1 import marketdata_pb2 as pb
from trademesh.marketdata.v1 import marketdata_pb2_grpc as pb_grpc

from interceptors import status_details
from services.marketdata import MarketDataServicer
from tests.unit.services.marketdata.conftest import Served, Tokens, auth

Metadata = tuple[tuple[str, str], ...]


async def _refused(call: Any) -> tuple[grpc.StatusCode, Any]:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    details = status_details(raised.value)
    return details.code, details


def _violations(details: Any) -> set[tuple[str, str]]:
    bad = details.find(error_details_pb2.BadRequest)
    assert bad is not None, details
    return {(v.field, v.description) for v in bad.field_violations}


def _violated_fields(details: Any) -> set[str]:
    return {field for field, _ in _violations(details)}


def _not_found_symbols(details: Any) -> str:
    info = details.find(error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "INSTRUMENT_NOT_FOUND", details
    return str(info.metadata["symbols"])


def test_every_rpc_of_the_contract_is_implemented() -> None:
    service = pb.DESCRIPTOR.services_by_name["MarketDataService"]
    assert {m.name for m in service.methods} == {
        "SearchInstruments",
        "GetInstrument",
        "GetQuote",
        "GetQuotes",
        "StreamQuotes",
    }
    for method in service.methods:
        ours = getattr(MarketDataServicer, method.name)
        assert ours is not getattr(pb_grpc.MarketDataServiceServicer, method.name)
        # StreamQuotes too: it writes through the context instead of yielding.
        assert inspect.iscoroutinefunction(ours), method.name


async def test_get_instrument(served: Served, viewer: Metadata) -> None:
    response = await served.stub.GetInstrument(
        pb.GetInstrumentRequest(symbol="BRK.B"), metadata=viewer
    )
    instrument = response.instrument
    assert instrument.symbol == "BRK.B"
    assert instrument.name == "Berkshire Hathaway Inc. Class B"
    assert (instrument.exchange, instrument.currency) == ("XNYS", "USD")
    assert instrument.asset_class == pb.ASSET_CLASS_EQUITY
    assert (instrument.tick_size, instrument.lot_size, instrument.tradable) == ("0.01", "1", True)
    spy = await served.stub.GetInstrument(pb.GetInstrumentRequest(symbol="SPY"), metadata=viewer)
    assert spy.instrument.asset_class == pb.ASSET_CLASS_ETF


def _check_quote(quote: pb.Quote, symbol: str) -> None:
    assert quote.symbol == symbol and quote.currency == "USD"
    bid, ask, last = (Decimal(quote.bid_price), Decimal(quote.ask_price), Decimal(quote.last_price))
    assert bid < ask and bid <= last <= ask
    for price in (bid, ask, last, Decimal(quote.previous_close)):
        assert price % Decimal("0.01") == 0
    assert Decimal(quote.change) == last - Decimal(quote.previous_close)
    assert Decimal(quote.change_percent) == (
        Decimal(quote.change) * 100 / Decimal(quote.previous_close)
    ).quantize(Decimal("0.01"))
    assert Decimal(quote.volume) >= 0 and Decimal(quote.bid_size) > 0
    assert "E" not in quote.last_price + quote.change  # plain decimal strings
    assert quote.quote_time.seconds > 0


async def test_get_quote_and_the_batch_agree(served: Served, viewer: Metadata) -> None:
    single = await served.stub.GetQuote(pb.GetQuoteRequest(symbol="AAPL"), metadata=viewer)
    _check_quote(single.quote, "AAPL")
    batch = await served.stub.GetQuotes(
        pb.GetQuotesRequest(symbols=["SPY", "AAPL", "BRK.A"]), metadata=viewer
    )
    assert [q.symbol for q in batch.quotes] == ["SPY", "AAPL", "BRK.A"]
    for quote in batch.quotes:
        _check_quote(quote, quote.symbol)
    assert batch.quotes[1].quote_time.ToDatetime() >= single.quote.quote_time.ToDatetime()


async def test_every_role_reads_market_data_and_anonymous_callers_do_not(
    served: Served, tokens: Tokens
) -> None:
    request = pb.GetQuoteRequest(symbol="MSFT")
    for role in ("viewer", "trader", "admin"):
        await served.stub.GetQuote(request, metadata=auth(tokens.access(role)))
    code, _ = await _refused(served.stub.GetQuote(request))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    code, _ = await _refused(served.stub.GetQuote(request, metadata=auth("not.a.token")))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    code, _ = await _refused(served.stub.GetQuote(request, metadata=auth(tokens.access("robot"))))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    stream = served.stub.StreamQuotes(pb.StreamQuotesRequest(symbols=["MSFT"]))
    code, _ = await _refused(stream.read())
    assert code == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.GetQuoteRequest(symbol=""), "symbol"),
        (pb.GetQuoteRequest(symbol="aapl"), "symbol"),
        (pb.GetQuoteRequest(symbol="A" * 13), "symbol"),
        (pb.GetQuotesRequest(), "symbols"),
        (pb.GetQuotesRequest(symbols=["AAPL", "AAPL"]), "symbols"),
        (pb.GetQuotesRequest(symbols=["AAPL", ""]), "symbols[1]"),
        (pb.GetQuotesRequest(symbols=[f"S{i}" for i in range(101)]), "symbols"),
        (pb.GetInstrumentRequest(symbol="$$$"), "symbol"),
        (pb.SearchInstrumentsRequest(query=""), "query"),
        (pb.SearchInstrumentsRequest(query="a", page_size=1001), "page_size"),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else value,
)
async def test_bad_requests_are_invalid_arguments_naming_the_field(
    served: Served, viewer: Metadata, request_: Any, field: str
) -> None:
    method = type(request_).__name__.removesuffix("Request")
    code, details = await _refused(getattr(served.stub, method)(request_, metadata=viewer))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in _violated_fields(details)


async def test_too_many_symbols_says_how_many_are_allowed(served: Served, viewer: Metadata) -> None:
    request = pb.GetQuotesRequest(symbols=[f"S{i}" for i in range(101)])
    code, details = await _refused(served.stub.GetQuotes(request, metadata=viewer))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    (description,) = [d for f, d in _violations(details) if f == "symbols"]
    assert "100" in description


async def test_unknown_symbols_are_not_found_and_named(served: Served, viewer: Metadata) -> None:
    code, details = await _refused(
        served.stub.GetQuote(pb.GetQuoteRequest(symbol="NOPE"), metadata=viewer)
    )
    assert code == grpc.StatusCode.NOT_FOUND and _not_found_symbols(details) == "NOPE"
    assert "NOPE" in details.message
    code, details = await _refused(
        served.stub.GetInstrument(pb.GetInstrumentRequest(symbol="NOPE"), metadata=viewer)
    )
    assert code == grpc.StatusCode.NOT_FOUND and _not_found_symbols(details) == "NOPE"
    code, details = await _refused(
        served.stub.GetQuotes(pb.GetQuotesRequest(symbols=["AAPL", "ZZZ", "NOPE"]), metadata=viewer)
    )
    assert code == grpc.StatusCode.NOT_FOUND and _not_found_symbols(details) == "NOPE,ZZZ"
    stream = served.stub.StreamQuotes(
        pb.StreamQuotesRequest(symbols=["AAPL", "NOPE"]), metadata=viewer
    )
    code, details = await _refused(stream.read())
    assert code == grpc.StatusCode.NOT_FOUND and _not_found_symbols(details) == "NOPE"
    assert served.marketdata.board.subscriber_count == 0


async def test_search_pages_through_the_matches(served: Served, viewer: Metadata) -> None:
    first = await served.stub.SearchInstruments(
        pb.SearchInstrumentsRequest(query="inc", page_size=5), metadata=viewer
    )
    assert len(first.instruments) == 5 and first.next_page_token
    seen = [i.symbol for i in first.instruments]
    token = first.next_page_token
    while token:
        page = await served.stub.SearchInstruments(
            pb.SearchInstrumentsRequest(query="inc", page_size=5, page_token=token),
            metadata=viewer,
        )
        seen += [i.symbol for i in page.instruments]
        token = page.next_page_token
    assert len(seen) == len(set(seen)) > 10
    everything = await served.stub.SearchInstruments(
        pb.SearchInstrumentsRequest(query="inc", page_size=1000), metadata=viewer
    )
    assert [i.symbol for i in everything.instruments] == seen
    apple = await served.stub.SearchInstruments(
        pb.SearchInstrumentsRequest(query="apple"), metadata=viewer
    )
    assert [i.symbol for i in apple.instruments] == ["AAPL"]


async def test_a_foreign_page_token_is_an_invalid_argument(
    served: Served, viewer: Metadata
) -> None:
    first = await served.stub.SearchInstruments(
        pb.SearchInstrumentsRequest(query="a", page_size=1), metadata=viewer
    )
    code, details = await _refused(
        served.stub.SearchInstruments(
            pb.SearchInstrumentsRequest(query="b", page_token=first.next_page_token),
            metadata=viewer,
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert _violated_fields(details) == {"page_token"}
