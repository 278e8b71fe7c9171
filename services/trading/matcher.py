"""Resting limit orders, indexed by symbol, filled when a quote crosses their limit."""

from __future__ import annotations

import logging

from services.trading.models import Order, OrderStatus, OrderType
from services.trading.pricing import execution_price
from services.trading.saga import OrderSaga
from services.trading.store import TradingStore
from services.trading.upstreams import Price

log = logging.getLogger(__name__)


class Matcher:
    """Knows the open limit orders (from the saga's changes and a periodic `sync` with the
    store, which brings in orders other instances accepted) and fills those a price crosses."""

    def __init__(self, store: TradingStore, saga: OrderSaga) -> None:
        self._store = store
        self._saga = saga
        self._resting: dict[str, dict[str, Order]] = {}
        saga.on_change(self.track)

    def track(self, order: Order) -> None:
        """Add an open limit order to the index, or drop one that stopped resting."""
        by_symbol = self._resting.setdefault(order.symbol, {})
        if order.order_type is OrderType.LIMIT and order.status is OrderStatus.OPEN:
            by_symbol[order.order_id] = order
        else:
            by_symbol.pop(order.order_id, None)
            if not by_symbol:
                self._resting.pop(order.symbol, None)

    async def sync(self) -> None:
        resting: dict[str, dict[str, Order]] = {}
        for order in await self._store.working_orders():
            if order.order_type is OrderType.LIMIT and order.status is OrderStatus.OPEN:
                resting.setdefault(order.symbol, {})[order.order_id] = order
        self._resting = resting

    @property
    def symbols(self) -> frozenset[str]:
        return frozenset(self._resting)

    def resting(self, symbol: str) -> list[Order]:
        return list(self._resting.get(symbol, {}).values())

    async def on_quote(self, price: Price) -> None:
        """Fill every resting order of the symbol that `price` crosses, oldest first."""
        crossing = sorted(
            (o for o in self.resting(price.symbol) if execution_price(o, price) is not None),
            key=lambda order: order.created_at,
        )
        for order in crossing:
            log.info("order %s crossed at %s/%s", order.order_id, price.bid, price.ask)
            try:
                await self._saga.spawn(self._saga.fill(order.order_id, price))
            except Exception:
                log.exception("filling order %s failed; the next quote tries again", order.order_id)
