"""Every change of a portfolio: one write transaction each, with its PortfolioUpdated in the
outbox of the same transaction. After a commit `on_change(portfolio_id)` runs, which wakes
the outbox relay and this instance's watchers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal

from mesh.context import Principal
from mesh.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from mesh.events import PORTFOLIO_UPDATES, Topic, mark_processed
from mesh.store.driver import Database, IntegrityViolation, ViolationKind
from services.portfolio import events, money
from services.portfolio.access import not_found, visible
from services.portfolio.settlement import Settlement, TradeInput, settle_in
from services.portfolio.store import (
    PortfolioRecord,
    ReservationRecord,
    ReservationStatus,
    ValuePoint,
    queries,
)

OnChange = Callable[[str], None]


def _ignore(portfolio_id: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class CashMove:
    """The outcome of ReserveCash / ReleaseCash."""

    amount: Decimal  # reserved, or released by this call
    portfolio: PortfolioRecord


@contextmanager
def _unique_name(name: str) -> Iterator[None]:
    try:
        yield
    except IntegrityViolation as exc:
        if exc.kind is ViolationKind.UNIQUE:
            raise AlreadyExists(
                f"you already have a portfolio named {name!r}",
                reason="PORTFOLIO_NAME_TAKEN",
                metadata={"name": name},
            ) from None
        raise


def _same_currency(portfolio: PortfolioRecord, currency: str) -> None:
    if currency != portfolio.base_currency:
        description = (
            f"must be the portfolio's base currency {portfolio.base_currency}, got {currency!r}"
        )
        raise InvalidArgument(
            f"amount.currency_code: {description}",
            [FieldViolation("amount.currency_code", description)],
        )


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidArgument(
            "name: must not be blank", [FieldViolation("name", "must not be blank")]
        )
    return cleaned


class Ledger:
    def __init__(
        self,
        db: Database,
        *,
        now: Callable[[], float] = time.time,
        on_change: OnChange = _ignore,
        consumer: str = "portfolio",
        updates: Topic = PORTFOLIO_UPDATES,
    ) -> None:
        self._db = db
        self.updates = updates  # where PortfolioUpdated goes
        self._now = now
        self._on_change = on_change
        self.consumer = consumer  # name under which consumed events are marked processed

    @property
    def db(self) -> Database:
        return self._db

    # -- portfolios --

    async def create(
        self,
        owner: Principal,
        *,
        name: str,
        description: str,
        base_currency: str,
        initial_cash: Decimal,
    ) -> PortfolioRecord:
        now = self._now()
        record = PortfolioRecord(
            portfolio_id=str(uuid.uuid4()),
            user_id=owner.user_id,
            name=_clean_name(name),
            description=description,
            base_currency=base_currency,
            initial_cash=money.cash(initial_cash),
            cash=money.cash(initial_cash),
            reserved=money.ZERO,
            created_at=now,
            updated_at=now,
        )
        with _unique_name(record.name):
            async with self._db.transaction(write=True) as tx:
                await queries.insert_portfolio(tx, record)
                await queries.insert_value_point(
                    tx, record.portfolio_id, ValuePoint(now, record.cash)
                )
                await events.publish(tx, self.updates, events.CREATED, record, now=now)
        self._on_change(record.portfolio_id)
        return record

    async def update(
        self,
        caller: Principal,
        portfolio_id: str,
        *,
        paths: Collection[str],
        name: str,
        description: str,
    ) -> PortfolioRecord:
        unknown = set(paths) - {"name", "description"}
        if unknown or not paths:
            raise InvalidArgument(
                "update_mask: may name only name and description, and at least one",
                [FieldViolation("update_mask", f"unsupported paths {sorted(unknown)}")],
            )
        new_name = _clean_name(name) if "name" in paths else None
        now = self._now()
        with _unique_name(new_name or ""):
            async with self._db.transaction(write=True) as tx:
                current = visible(
                    caller,
                    await queries.portfolio(tx, portfolio_id, for_update=self._db.for_update),
                    portfolio_id,
                )
                await queries.set_details(
                    tx,
                    portfolio_id,
                    name=new_name if new_name is not None else current.name,
                    description=description if "description" in paths else current.description,
                    now=now,
                )
                updated = await queries.portfolio(tx, portfolio_id)
                assert updated is not None
                await events.publish(tx, self.updates, events.UPDATED, updated, now=now)
        self._on_change(portfolio_id)
        return updated

    async def delete(self, caller: Principal, portfolio_id: str) -> None:
        """Close the portfolio; closing a closed one succeeds and changes nothing."""
        now = self._now()
        async with self._db.transaction(write=True) as tx:
            current = visible(
                caller,
                await queries.portfolio(tx, portfolio_id, for_update=self._db.for_update),
                portfolio_id,
                include_deleted=True,
            )
            if current.is_deleted:
                return
            if current.reserved != 0:
                raise FailedPrecondition(
                    f"portfolio {portfolio_id} still holds "
                    f"{money.show(current.reserved, current.base_currency)} reserved for open "
                    "orders; cancel them first",
                    reason="PORTFOLIO_HAS_RESERVATIONS",
                )
            held = [p for p in await queries.positions(tx, portfolio_id) if p.is_open]
            if held:
                raise FailedPrecondition(
                    f"portfolio {portfolio_id} still holds positions in "
                    f"{', '.join(p.symbol for p in held)}; sell them first",
                    reason="PORTFOLIO_HAS_POSITIONS",
                )
            await queries.mark_deleted(tx, portfolio_id, now)
            deleted = await queries.portfolio(tx, portfolio_id)
            assert deleted is not None
            await events.publish(tx, self.updates, events.DELETED, deleted, now=now)
        self._on_change(portfolio_id)

    # -- cash for orders --

    async def reserve(
        self, portfolio_id: str, order_id: str, user_id: str, amount: Decimal, currency: str
    ) -> CashMove:
        """Set `amount` aside for `order_id`. Repeating the call returns the reservation."""
        now = self._now()
        async with self._db.transaction(write=True) as tx:
            portfolio = await queries.portfolio(tx, portfolio_id, for_update=self._db.for_update)
            if portfolio is None or portfolio.is_deleted:
                raise not_found(portfolio_id)
            if portfolio.user_id != user_id:
                raise PermissionDenied(
                    f"portfolio {portfolio_id} does not belong to user {user_id}",
                    reason="PORTFOLIO_NOT_OWNED",
                    metadata={"portfolio_id": portfolio_id, "user_id": user_id},
                )
            _same_currency(portfolio, currency)
            existing = await queries.reservation(tx, order_id, for_update=self._db.for_update)
            if existing is not None:
                return CashMove(self._repeat(existing, portfolio, amount), portfolio)
            if amount > portfolio.available:
                currency = portfolio.base_currency
                raise FailedPrecondition(
                    f"insufficient cash: the order needs {money.show(amount, currency)}, "
                    f"{money.show(portfolio.available, currency)} is available",
                    reason="INSUFFICIENT_CASH",
                    metadata={
                        "portfolio_id": portfolio_id,
                        "requested": money.canonical(amount),
                        "available": money.canonical(portfolio.available),
                        "currency": currency,
                    },
                )
            await queries.insert_reservation(
                tx,
                ReservationRecord(
                    order_id, portfolio_id, amount, amount, ReservationStatus.OPEN, now, now
                ),
            )
            after = replace(portfolio, reserved=portfolio.reserved + amount, updated_at=now)
            await queries.set_cash(
                tx, portfolio_id, cash=after.cash, reserved=after.reserved, now=now
            )
            await events.publish(
                tx, self.updates, events.CASH_RESERVED, after, now=now, order_id=order_id
            )
        self._on_change(portfolio_id)
        return CashMove(amount, after)

    @staticmethod
    def _repeat(
        existing: ReservationRecord, portfolio: PortfolioRecord, amount: Decimal
    ) -> Decimal:
        order_id = existing.order_id
        if existing.portfolio_id != portfolio.portfolio_id:
            raise Conflict(
                f"order {order_id} already has a reservation in another portfolio",
                reason="RESERVATION_CONFLICT",
            )
        if existing.status is ReservationStatus.RELEASED:
            raise FailedPrecondition(
                f"the reservation of order {order_id} was released; the order cannot reserve "
                "cash again",
                reason="RESERVATION_RELEASED",
            )
        if existing.amount != amount:
            currency = portfolio.base_currency
            raise Conflict(
                f"order {order_id} already reserved {money.show(existing.amount, currency)}, "
                f"not {money.show(amount, currency)}",
                reason="RESERVATION_CONFLICT",
            )
        return existing.amount

    async def release(
        self, portfolio_id: str, order_id: str, amount: Decimal | None, currency: str | None
    ) -> CashMove:
        """Return `amount` (None: all that remains) of the order's reservation. Releasing an
        order that never reserved records that, so a late ReserveCash for it is refused."""
        now = self._now()
        async with self._db.transaction(write=True) as tx:
            portfolio = await queries.portfolio(tx, portfolio_id, for_update=self._db.for_update)
            if portfolio is None:
                raise not_found(portfolio_id)
            if currency is not None:
                _same_currency(portfolio, currency)
            existing = await queries.reservation(tx, order_id, for_update=self._db.for_update)
            if existing is None:
                zero = money.ZERO
                await queries.insert_reservation(
                    tx,
                    ReservationRecord(
                        order_id, portfolio_id, zero, zero, ReservationStatus.RELEASED, now, now
                    ),
                )
                return CashMove(zero, portfolio)
            if existing.portfolio_id != portfolio_id:
                raise NotFound(
                    f"order {order_id} holds no reservation in portfolio {portfolio_id}",
                    reason="RESERVATION_NOT_FOUND",
                )
            if existing.status is not ReservationStatus.OPEN:
                return CashMove(money.ZERO, portfolio)
            released = existing.remaining if amount is None else min(amount, existing.remaining)
            remaining = existing.remaining - released
            status = ReservationStatus.OPEN if remaining > 0 else ReservationStatus.RELEASED
            await queries.update_reservation(
                tx, order_id, remaining=remaining, status=status, now=now
            )
            after = replace(portfolio, reserved=portfolio.reserved - released, updated_at=now)
            await queries.set_cash(
                tx, portfolio_id, cash=after.cash, reserved=after.reserved, now=now
            )
            await events.publish(
                tx, self.updates, events.CASH_RELEASED, after, now=now, order_id=order_id
            )
        self._on_change(portfolio_id)
        return CashMove(released, after)

    # -- settlement --

    async def settle(self, trade: TradeInput, *, event_id: str | None = None) -> Settlement | None:
        """Settle `trade` once. With `event_id` (a consumed TradeExecuted) the event is marked
        processed in the same transaction, and None is returned when it was already applied."""
        now = self._now()
        async with self._db.transaction(write=True) as tx:
            if event_id is not None and not await mark_processed(tx, self.consumer, event_id):
                return None
            settlement = await settle_in(self._db, tx, trade, self.updates, now=now)
        if settlement.applied:
            self._on_change(trade.portfolio_id)
        return settlement
