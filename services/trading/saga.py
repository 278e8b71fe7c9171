"""The order saga: accept → reserve cash → execute → announce, or compensate by releasing.

Each step is one transaction of the store together with its outbox events, so the order's
row always says how far it got:

    PENDING/reserving ──ReserveCash──▶ OPEN/held ──fill──▶ FILLED/consumed (+ TradeExecuted)
          │ refused                       │ cancel, expiry, IOC miss
          ▼                               ▼
    REJECTED/none                 CANCELLED|EXPIRED/releasing ──ReleaseCash──▶ …/released

The row is written *before* each upstream call, so a crash after the call is found on
restart: `resume` (run by the recovery sweep) asks again — ReserveCash and ReleaseCash are
idempotent per order id — and continues or compensates. The steps after acceptance run in a
task of the saga, not of the caller, so a caller that vanishes does not stop them halfway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from mesh.errors import FailedPrecondition
from services.trading import events
from services.trading.detached import Detached
from services.trading.intake import new_order, replay
from services.trading.models import (
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Reservation,
    Side,
    TimeInForce,
)
from services.trading.pricing import execution_price, trade_for
from services.trading.quotes import QuoteBook
from services.trading.risk import Fees, refuse
from services.trading.store import Change, DuplicateOrder, TradingStore, Transition
from services.trading.upstreams import Cash, Price, UpstreamRefused, UpstreamUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
OnChange = Callable[[Order], None]

# What portfolio's refusal of a reservation means to the user, by its ErrorInfo reason.
_CASH_REFUSALS = {
    "NOT_FOUND": ("PORTFOLIO_NOT_FOUND", "portfolio not found"),
    "PERMISSION_DENIED": ("PORTFOLIO_NOT_FOUND", "portfolio not found"),
}


@dataclass(frozen=True, slots=True)
class SagaSettings:
    fees: Fees
    market_order_timeout_seconds: float
    stale_after_seconds: float
    pending_timeout_seconds: float


def _cash_refusal(refused: UpstreamRefused) -> FailedPrecondition:
    reason, message = _CASH_REFUSALS.get(refused.code.name, (None, None))
    if reason is None and refused.reason in _CASH_REFUSALS:
        reason, message = _CASH_REFUSALS[refused.reason]
    if reason is None:
        reason = refused.reason if refused.reason != "FAILED_PRECONDITION" else "INSUFFICIENT_CASH"
        message = refused.message or "not enough cash available"
    return refuse(reason, f"cash could not be reserved: {message}")


class OrderSaga:
    def __init__(
        self,
        store: TradingStore,
        cash: Cash,
        book: QuoteBook,
        settings: SagaSettings,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._cash = cash
        self._book = book
        self._settings = settings
        self._now = now
        self._listeners: list[OnChange] = []
        self._detached = Detached()

    def on_change(self, listener: OnChange) -> None:
        """Call `listener` with the order after every change this process committed."""
        self._listeners.append(listener)

    def _changed(self, transition: Transition | None) -> Order | None:
        if transition is None:
            return None
        if transition.changed:
            self._notify(transition.after)
        return transition.after

    def _notify(self, order: Order) -> None:
        for listener in self._listeners:
            try:
                listener(order)
            except Exception:
                log.exception("order change listener failed")

    def spawn(self, step: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run a step where the caller's cancellation does not reach it; `close` stops it."""
        return self._detached.spawn(step)

    @property
    def steps_running(self) -> int:
        return self._detached.running

    async def close(self) -> None:
        """Stop every running step where it is; the store says how far each got."""
        await self._detached.close()

    # -- PlaceOrder --

    async def existing(self, request: OrderRequest) -> Order | None:
        found = await self._store.find_client_order(request.user_id, request.client_order_id)
        return None if found is None else replay(request, found)

    async def _insert(self, request: OrderRequest, order: Order) -> Order | None:
        """Insert the new order; None when a concurrent duplicate got there first."""
        try:
            await self._store.insert_order(order, (events.order_updated(order, None),))
        except DuplicateOrder as duplicate:
            replay(request, duplicate.existing)
            return None
        self._notify(order)
        return order

    async def reject_new(
        self, request: OrderRequest, refusal: FailedPrecondition, *, currency: str
    ) -> Order:
        """Record an order the risk checks refused (so a repeat replays the refusal)."""
        now = self._now()
        order = new_order(request, currency=currency, quote=None, now=now)
        order = order.changed(
            now=now,
            status=OrderStatus.REJECTED,
            reject_reason=refusal.message,
            reject_code=refusal.reason,
        )
        inserted = await self._insert(request, order)
        if inserted is None:
            found = await self._store.find_client_order(request.user_id, request.client_order_id)
            assert found is not None
            return replay(request, found)
        raise refusal

    async def accept(
        self, request: OrderRequest, *, currency: str, reserve: Decimal, price: Price
    ) -> Order:
        """Insert the checked order and run the saga; the order as the caller should see it."""
        now = self._now()
        quote = price.ask if request.side is Side.BUY else price.bid
        order = new_order(request, currency=currency, quote=quote, now=now)
        if request.side is Side.BUY:
            order = order.changed(
                now=now, reservation=Reservation.RESERVING, reserved_amount=reserve
            )
        else:  # a sell reserves nothing: holdings were checked, it is open at once
            order = order.changed(now=now, status=OrderStatus.OPEN)
        inserted = await self._insert(request, order)
        if inserted is None:
            found = await self._store.find_client_order(request.user_id, request.client_order_id)
            assert found is not None
            return replay(request, found)
        return await asyncio.shield(self.spawn(self._advance(inserted, price)))

    async def _advance(self, order: Order, price: Price | None) -> Order:
        if order.status is OrderStatus.PENDING:
            reserved = await self._reserve(order)
            if reserved is None or reserved.status is not OrderStatus.OPEN:
                return reserved or order
            order = reserved
        if order.status is not OrderStatus.OPEN:
            return order
        return await self._execute_or_rest(order, price)

    # -- steps --

    async def _reserve(self, order: Order) -> Order | None:
        """ReserveCash, then OPEN; a refusal rejects the order (FAILED_PRECONDITION raised).
        None when portfolio gave no answer: the order stays PENDING for the sweep."""
        try:
            await self._cash.reserve(
                portfolio_id=order.portfolio_id,
                order_id=order.order_id,
                user_id=order.user_id,
                amount=order.reserved_amount,
                currency=order.currency,
            )
        except UpstreamRefused as refused:
            refusal = _cash_refusal(refused)
            ended = await self.finish(
                order.order_id,
                OrderStatus.REJECTED,
                reason=refusal.message,
                code=refusal.reason,
                reserved=False,
            )
            if ended is not None and ended.status is not OrderStatus.REJECTED:
                return ended  # cancelled meanwhile: its release is why portfolio refused
            raise refusal from None
        except UpstreamUnavailable as exc:
            log.warning("order %s: cash reservation pending: %s", order.order_id, exc)
            return None

        def opened(current: Order) -> Change | None:
            if current.status is not OrderStatus.PENDING:
                return None
            after = current.changed(
                now=self._now(), status=OrderStatus.OPEN, reservation=Reservation.HELD
            )
            return Change(after, (events.order_updated(after, current.status),))

        result = self._changed(await self._store.update_order(order.order_id, opened))
        if result is not None and result.reservation is Reservation.RELEASING:
            # Cancelled while the reservation was on its way: give it back now.
            await self.release(result)
        return result

    async def _execute_or_rest(self, order: Order, price: Price | None) -> Order:
        if price is None or self._now() - price.observed_at > self._settings.stale_after_seconds:
            price = self._book.latest(order.symbol) or price
        if order.order_type is OrderType.MARKET:
            if price is None:
                return order  # no price yet: the sweep fills it when one arrives, or expires it
            return await self.fill(order.order_id, price) or order
        if price is not None and execution_price(order, price) is not None:
            return await self.fill(order.order_id, price) or order
        if order.time_in_force is TimeInForce.IOC:
            return (
                await self.finish(
                    order.order_id, OrderStatus.CANCELLED, reason="", code="IOC_NOT_FILLED"
                )
                or order
            )
        return order  # resting: the matcher fills it when the price crosses

    async def fill(self, order_id: str, price: Price) -> Order | None:
        """Execute a working order against `price`, if it crosses and the cash covers it:
        the trade, FILLED and both events in one transaction. Idempotent: a final order is
        left as it is."""
        now = self._now()
        over_budget = False

        def filled(current: Order) -> Change | None:
            nonlocal over_budget
            if current.status is not OrderStatus.OPEN:
                return None
            at = execution_price(current, price)
            if at is None:
                return None
            trade = trade_for(current, at, self._settings.fees, now=now)
            if current.side is Side.BUY and trade.notional + trade.fee > current.reserved_amount:
                over_budget = True
                return None
            after = current.changed(
                now=now,
                status=OrderStatus.FILLED,
                filled_quantity=current.quantity,
                average_fill_price=at,
                reservation=(
                    Reservation.CONSUMED if current.side is Side.BUY else current.reservation
                ),
            )
            return Change(
                after,
                (
                    events.trade_executed(trade, after),
                    events.order_updated(after, current.status),
                ),
                trade,
            )

        result = self._changed(await self._store.update_order(order_id, filled))
        if over_budget:
            return await self.finish(
                order_id,
                OrderStatus.REJECTED,
                reason="the price moved beyond the cash reserved for the order",
                code="PRICE_MOVED",
            )
        return result

    async def finish(
        self,
        order_id: str,
        status: OrderStatus,
        *,
        reason: str = "",
        code: str = "",
        reserved: bool = True,
        allowed: frozenset[OrderStatus] = frozenset({OrderStatus.PENDING, OrderStatus.OPEN}),
    ) -> Order | None:
        """End a working order without a fill and give back its cash (compensation)."""

        def ended(current: Order) -> Change | None:
            if current.status not in allowed:
                return None
            holds = current.reservation in (Reservation.RESERVING, Reservation.HELD)
            after = current.changed(
                now=self._now(),
                status=status,
                reject_reason=reason if status is OrderStatus.REJECTED else "",
                reject_code=code,
                reservation=(
                    Reservation.RELEASING
                    if holds and reserved
                    else Reservation.NONE
                    if holds
                    else current.reservation
                ),
            )
            return Change(after, (events.order_updated(after, current.status),))

        result = self._changed(await self._store.update_order(order_id, ended))
        if result is not None and result.reservation is Reservation.RELEASING:
            return await self.release(result)
        return result

    async def release(self, order: Order) -> Order:
        """ReleaseCash for an ended order; on no answer the sweep asks again."""
        try:
            await self._cash.release(portfolio_id=order.portfolio_id, order_id=order.order_id)
        except (UpstreamRefused, UpstreamUnavailable) as exc:
            log.warning("order %s: cash release pending: %s", order.order_id, exc)
            return order

        def released(current: Order) -> Change | None:
            if current.reservation is not Reservation.RELEASING:
                return None
            return Change(current.changed(now=self._now(), reservation=Reservation.RELEASED), ())

        transition = await self._store.update_order(order.order_id, released)
        return order if transition is None else transition.after

    # -- recovery --

    def _fallback_price(self, order: Order) -> Price | None:
        """The latest quote heard, else the one the order was accepted at."""
        price = self._book.latest(order.symbol)
        if price is None and order.quote_price is not None:
            quote = order.quote_price
            price = Price(order.symbol, quote, quote, order.currency, self._now())
        return price

    async def resume(self, order: Order) -> Order | None:
        """Carry an interrupted order on from where its row says it stopped, or compensate."""
        now = self._now()
        age = now - order.created_at
        if order.reservation is Reservation.RELEASING:
            return await self.release(order)
        if order.status is OrderStatus.PENDING:
            if age > self._settings.pending_timeout_seconds:
                return await self.finish(
                    order.order_id,
                    OrderStatus.REJECTED,
                    reason="cash could not be reserved in time",
                    code="RESERVATION_TIMEOUT",
                )
            try:
                return await self._advance(order, self._fallback_price(order))
            except FailedPrecondition:
                return await self._store.get_order(order.order_id)
        if order.status is not OrderStatus.OPEN:
            return order
        if order.order_type is OrderType.MARKET:
            if age > self._settings.market_order_timeout_seconds:
                return await self.finish(order.order_id, OrderStatus.EXPIRED, code="STALE")
            return await self._execute_or_rest(order, self._fallback_price(order))
        if order.expires_at is not None and now >= order.expires_at:
            return await self.finish(order.order_id, OrderStatus.EXPIRED, code="DAY_ENDED")
        if order.time_in_force is TimeInForce.IOC:
            return await self.finish(order.order_id, OrderStatus.CANCELLED, code="IOC_NOT_FILLED")
        return order

    async def cancel(self, order: Order) -> Order:
        """Cancel a working order and release its cash; a cancelled order stays cancelled."""
        if order.status is OrderStatus.CANCELLED:
            return order
        if order.status.is_final:
            raise FailedPrecondition(
                f"order is {order.status.lower()} and can no longer be cancelled",
                reason="ORDER_NOT_CANCELLABLE",
                metadata={"status": str(order.status)},
            )
        result = await asyncio.shield(
            self.spawn(self.finish(order.order_id, OrderStatus.CANCELLED, code="CANCELLED"))
        )
        current = result or await self._store.get_order(order.order_id)
        if current is None:
            raise RuntimeError(f"order {order.order_id} vanished")
        if current.status is not OrderStatus.CANCELLED:
            return await self.cancel(current)  # it changed meanwhile: answer for what it is
        return current
