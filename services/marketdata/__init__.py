"""The marketdata service: instruments, a quote feed shared by every stream, QuoteUpdated."""

from __future__ import annotations

from services.marketdata.app import MarketData, build_marketdata
from services.marketdata.board import QuoteBoard, Subscription
from services.marketdata.config import MarketDataConfig
from services.marketdata.instruments import AssetClass, Instrument, Universe
from services.marketdata.publisher import QuotePublisher
from services.marketdata.quotes import Quote, QuoteProvider, QuoteSink
from services.marketdata.servicer import MarketDataServicer
from services.marketdata.simulated import SimulatedFeed, SimulatedMarket, WalkSettings
from services.marketdata.universe import INSTRUMENTS

__all__ = [
    "INSTRUMENTS",
    "AssetClass",
    "Instrument",
    "MarketData",
    "MarketDataConfig",
    "MarketDataServicer",
    "Quote",
    "QuoteBoard",
    "QuoteProvider",
    "QuotePublisher",
    "QuoteSink",
    "SimulatedFeed",
    "SimulatedMarket",
    "Subscription",
    "Universe",
    "WalkSettings",
    "build_marketdata",
]
