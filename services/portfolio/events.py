"""PortfolioUpdated events, written to the outbox in the transaction of the change."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TypeAlias

from trademesh.portfolio.v1 import events_pb2

from mesh import context
from mesh.events import Topic, enqueue
from mesh.store.driver import Transaction
from services.portfolio import convert
from services.portfolio.store import PortfolioRecord, PositionRecord

Change: TypeAlias = events_pb2.PortfolioChange.ValueType

CREATED = events_pb2.PORTFOLIO_CHANGE_CREATED
UPDATED = events_pb2.PORTFOLIO_CHANGE_UPDATED
DELETED = events_pb2.PORTFOLIO_CHANGE_DELETED
CASH_RESERVED = events_pb2.PORTFOLIO_CHANGE_CASH_RESERVED
CASH_RELEASED = events_pb2.PORTFOLIO_CHANGE_CASH_RELEASED
TRADE_SETTLED = events_pb2.PORTFOLIO_CHANGE_TRADE_SETTLED


def portfolio_updated(
    change: Change,
    portfolio: PortfolioRecord,
    positions: Iterable[PositionRecord] = (),
    *,
    now: float,
    trade_id: str = "",
    order_id: str = "",
) -> events_pb2.PortfolioUpdated:
    currency = portfolio.base_currency
    return events_pb2.PortfolioUpdated(
        event_id=str(uuid.uuid4()),
        occurred_at=convert.timestamp(now),
        correlation_id=context.current().correlation_id,
        change=change,
        portfolio=convert.portfolio_message(portfolio),
        positions=[convert.position_message(p, currency) for p in positions],
        trade_id=trade_id,
        order_id=order_id,
    )


async def publish(
    tx: Transaction,
    topic: Topic,
    change: Change,
    portfolio: PortfolioRecord,
    positions: Iterable[PositionRecord] = (),
    *,
    now: float,
    trade_id: str = "",
    order_id: str = "",
) -> None:
    """Enqueue the PortfolioUpdated of `change` on `topic` (portfolio.updates.v1), keyed by
    portfolio id, in `tx`: it is published if and only if the change commits."""
    event = portfolio_updated(
        change, portfolio, positions, now=now, trade_id=trade_id, order_id=order_id
    )
    await enqueue(tx, topic, event, key=portfolio.portfolio_id)
