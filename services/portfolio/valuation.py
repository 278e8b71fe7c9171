"""Positions valued at market prices. A position whose symbol has no price keeps its market
fields unset rather than showing a made-up value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from trademesh.portfolio.v1 import portfolio_pb2

from services.portfolio import convert
from services.portfolio.quotes import Price
from services.portfolio.store import PositionRecord, Snapshot


def positions(
    records: Iterable[PositionRecord], currency: str, prices: Mapping[str, Price]
) -> list[portfolio_pb2.Position]:
    out = []
    for record in records:
        price = prices.get(record.symbol)
        out.append(
            convert.position_message(record, currency, None if price is None else price.price)
        )
    return out


def watch_message(
    snapshot: Snapshot, prices: Mapping[str, Price]
) -> portfolio_pb2.WatchPortfolioResponse:
    """What WatchPortfolio sends: the portfolio and all of its open positions."""
    portfolio = snapshot.portfolio
    return portfolio_pb2.WatchPortfolioResponse(
        portfolio=convert.portfolio_message(portfolio),
        positions=positions(snapshot.open_positions, portfolio.base_currency, prices),
    )
