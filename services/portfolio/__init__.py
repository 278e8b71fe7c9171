"""The portfolio service: portfolios, cash and reservations, positions from settled trades,
valuations, exports and live watches."""

from __future__ import annotations

from services.portfolio.app import SERVICE, Portfolio, build_portfolio
from services.portfolio.config import PortfolioConfig
from services.portfolio.ledger import CashMove, Ledger
from services.portfolio.quotes import MarketDataQuotes, Price, QuoteBook, QuoteProvider
from services.portfolio.servicer import PortfolioServicer
from services.portfolio.settlement import Settlement, TradeInput

__all__ = [
    "SERVICE",
    "CashMove",
    "Ledger",
    "MarketDataQuotes",
    "Portfolio",
    "PortfolioConfig",
    "PortfolioServicer",
    "Price",
    "QuoteBook",
    "QuoteProvider",
    "Settlement",
    "TradeInput",
    "build_portfolio",
]
