"""Domain instruments and quotes as the contract's messages; decimals as plain strings."""

from __future__ import annotations

from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.marketdata.v1 import marketdata_pb2 as pb

from services.marketdata.instruments import AssetClass, Instrument
from services.marketdata.quotes import Quote

_ASSET_CLASSES = {
    AssetClass.EQUITY: pb.ASSET_CLASS_EQUITY,
    AssetClass.ETF: pb.ASSET_CLASS_ETF,
}


def decimal_string(value: Decimal) -> str:
    """Positional notation, never an exponent ("0.01", not "1E-2")."""
    return format(value, "f")


def instrument_message(instrument: Instrument) -> pb.Instrument:
    return pb.Instrument(
        symbol=instrument.symbol,
        name=instrument.name,
        exchange=instrument.exchange,
        currency=instrument.currency,
        asset_class=_ASSET_CLASSES[instrument.asset_class],
        tick_size=decimal_string(instrument.tick_size),
        lot_size=decimal_string(instrument.lot_size),
        tradable=instrument.tradable,
    )


def quote_message(quote: Quote) -> pb.Quote:
    quote_time = Timestamp()
    quote_time.FromDatetime(quote.quote_time)
    return pb.Quote(
        symbol=quote.symbol,
        bid_price=decimal_string(quote.bid_price),
        bid_size=decimal_string(quote.bid_size),
        ask_price=decimal_string(quote.ask_price),
        ask_size=decimal_string(quote.ask_size),
        last_price=decimal_string(quote.last_price),
        volume=decimal_string(quote.volume),
        previous_close=decimal_string(quote.previous_close),
        change=decimal_string(quote.change),
        change_percent=decimal_string(quote.change_percent),
        currency=quote.currency,
        quote_time=quote_time,
    )
