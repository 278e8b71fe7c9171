"""What this service reads from Kafka: trades to settle (its consumer group, committed after
each settlement), and, per instance, PortfolioUpdated and QuoteUpdated to feed watchers."""

from __future__ import annotations

from trademesh.portfolio.v1 import events_pb2 as portfolio_events
from trademesh.trading.v1 import events_pb2 as trading_events

from mesh.events import Delivery
from services.portfolio.hub import WatchHub
from services.portfolio.ledger import Ledger
from services.portfolio.trades import trade_input


class TradeSettler:
    """Handler of trading.trades.v1: settles each TradeExecuted once, marking its event id
    processed in the settlement's own transaction."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.event
        if not isinstance(event, trading_events.TradeExecuted):
            raise TypeError(f"unexpected {event.DESCRIPTOR.full_name} on {delivery.topic}")
        await self._ledger.settle(trade_input(event), event_id=delivery.event_id)


class UpdateFanOut:
    """Handler of this instance's portfolio.updates.v1 reader: wakes local watchers of the
    portfolio, whichever instance changed it."""

    def __init__(self, hub: WatchHub) -> None:
        self._hub = hub

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.event
        if isinstance(event, portfolio_events.PortfolioUpdated) and event.portfolio.portfolio_id:
            self._hub.changed(event.portfolio.portfolio_id)
