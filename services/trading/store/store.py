"""The trading store written once in SQL over `mesh.store.Database`: orders, trades, limits.

Every change of an order is a compare-and-set on its `version` inside a write transaction,
together with the outbox rows of the events it announces, so a change and its events commit
or vanish together and two instances never both apply a transition to the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from mesh.events import enqueue
from mesh.store import Database, IntegrityViolation, Row, Transaction, ViolationKind, migrate
from services.trading.events import Outgoing
from services.trading.models import (
    WORKING_STATUSES,
    Order,
    OrderStatus,
    OrderType,
    Page,
    Reservation,
    RiskLimits,
    Side,
    Trade,
)
from services.trading.store import _paging as paging
from services.trading.store._rows import (
    LIMIT_COLUMNS,
    ORDER_COLUMNS,
    ORDER_PLACEHOLDERS,
    TRADE_COLUMNS,
    TRADE_PLACEHOLDERS,
    limits_from_row,
    limits_params,
    order_from_row,
    order_params,
    trade_from_row,
    trade_params,
)
from services.trading.store.migrations import MIGRATIONS


class DuplicateOrder(Exception):
    """The (user, client_order_id) pair is taken; `existing` is the order that holds it."""

    def __init__(self, existing: Order) -> None:
        super().__init__(f"client_order_id {existing.client_order_id!r} is already used")
        self.existing = existing


@dataclass(frozen=True, slots=True)
class Change:
    """What a transition decided: the order after it, an execution, the events to announce."""

    order: Order
    events: tuple[Outgoing, ...]
    trade: Trade | None = None


Decide = Callable[[Order], Change | None]


@dataclass(frozen=True, slots=True)
class Transition:
    before: Order
    after: Order
    trade: Trade | None = None

    @property
    def changed(self) -> bool:
        return self.after.version != self.before.version


@dataclass(frozen=True, slots=True)
class OrderFilter:
    user_id: str | None = None
    portfolio_id: str | None = None
    symbol: str | None = None
    statuses: frozenset[OrderStatus] = frozenset()
    side: Side | None = None
    created_from: float | None = None
    created_to: float | None = None


@dataclass(frozen=True, slots=True)
class TradeFilter:
    user_id: str | None = None
    portfolio_id: str | None = None
    order_id: str | None = None
    symbol: str | None = None
    executed_from: float | None = None
    executed_to: float | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """A user's working orders and today's volume, for the risk checks."""

    open_orders: int = 0
    day_notional: Decimal = Decimal(0)
    # Quantity of working orders per (symbol, side), not yet executed.
    working: dict[tuple[str, Side], Decimal] = field(default_factory=dict)

    def working_quantity(self, symbol: str, side: Side) -> Decimal:
        return self.working.get((symbol, side), Decimal(0))


async def _enqueue_all(tx: Transaction, events: Sequence[Outgoing]) -> None:
    for item in events:
        await enqueue(tx, item.topic, item.event, key=item.key)


def _where(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""


def _equal(columns: Mapping[str, object | None]) -> tuple[list[str], list[object]]:
    """`column = ?` for every column given a value."""
    given = {column: value for column, value in columns.items() if value is not None}
    return [f"{column} = ?" for column in given], list(given.values())


@dataclass(frozen=True, slots=True)
class _Listing:
    """A table listed newest first by (time, id), and where those two sit in its rows."""

    table: str
    columns: str
    time_column: str
    id_column: str

    @property
    def _names(self) -> list[str]:
        return [name.strip() for name in self.columns.split(",")]

    @property
    def time_index(self) -> int:
        return self._names.index(self.time_column)

    @property
    def id_index(self) -> int:
        return self._names.index(self.id_column)


_ORDERS = _Listing("orders", ORDER_COLUMNS, "created_at", "order_id")
_TRADES = _Listing("trades", TRADE_COLUMNS, "executed_at", "trade_id")


class TradingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> tuple[int, ...]:
        return await migrate(self.db, MIGRATIONS)

    async def close(self) -> None:
        await self.db.close()

    # -- orders --

    async def insert_order(self, order: Order, events: Sequence[Outgoing] = ()) -> Order:
        """Insert a new order with its events; DuplicateOrder when its client id is taken."""
        try:
            async with self.db.transaction(write=True) as tx:
                await tx.execute(
                    f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES ({ORDER_PLACEHOLDERS})",
                    order_params(order),
                )
                await _enqueue_all(tx, events)
        except IntegrityViolation as exc:
            if exc.kind is not ViolationKind.UNIQUE:
                raise
            existing = await self.find_client_order(order.user_id, order.client_order_id)
            if existing is None:  # the other order's id collided, which a UUID does not do
                raise
            raise DuplicateOrder(existing) from None
        return order

    async def get_order(self, order_id: str) -> Order | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = ?", (order_id,)
            )
        return None if row is None else order_from_row(row)

    async def find_client_order(self, user_id: str, client_order_id: str) -> Order | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = ? AND client_order_id = ?",
                (user_id, client_order_id),
            )
        return None if row is None else order_from_row(row)

    async def update_order(self, order_id: str, decide: Decide) -> Transition | None:
        """Apply `decide` to the order as it is now, atomically with its trade and events.

        `decide` sees the locked current row and returns None to leave it as it is. Returns
        None for an unknown order.
        """
        async with self.db.transaction(write=True) as tx:
            row = await tx.fetchone(
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = ?{self.db.for_update}",
                (order_id,),
            )
            if row is None:
                return None
            before = order_from_row(row)
            change = decide(before)
            if change is None:
                return Transition(before, before)
            after = change.order
            params = order_params(after)
            assignments = ", ".join(f"{name.strip()} = ?" for name in ORDER_COLUMNS.split(",")[1:])
            updated = await tx.execute(
                f"UPDATE orders SET {assignments} WHERE order_id = ? AND version = ?",
                (*params[1:], before.order_id, before.version),
            )
            if updated != 1:  # the row lock makes this unreachable; refuse rather than guess
                raise RuntimeError(f"order {order_id} changed under its lock")
            if change.trade is not None:
                await tx.execute(
                    f"INSERT INTO trades ({TRADE_COLUMNS}) VALUES ({TRADE_PLACEHOLDERS})",
                    trade_params(change.trade),
                )
            await _enqueue_all(tx, change.events)
        return Transition(before, after, change.trade)

    async def list_orders(
        self, where: OrderFilter, *, page_size: int, page_token: str
    ) -> Page[Order]:
        statuses = sorted(str(status) for status in where.statuses)
        side = None if where.side is None else str(where.side)
        equal = {
            "user_id": where.user_id,
            "portfolio_id": where.portfolio_id,
            "symbol": where.symbol,
            "side": side,
        }
        scope: dict[str, object] = {**equal, "statuses": statuses}
        scope |= {"created_from": where.created_from, "created_to": where.created_to}
        clauses, params = _equal(equal)
        if statuses:
            clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
            params.extend(statuses)
        rows, token = await self._keyset(
            _ORDERS,
            clauses,
            params,
            (where.created_from, where.created_to),
            scope,
            page_size=page_size,
            page_token=page_token,
        )
        return Page(tuple(order_from_row(row) for row in rows), token)

    async def working_orders(self, *, symbol: str | None = None) -> list[Order]:
        """Every order not in a final state (for recovery and the matcher)."""
        clauses = [f"status IN ({', '.join('?' * len(WORKING_STATUSES))})"]
        params: list[object] = [str(status) for status in sorted(WORKING_STATUSES)]
        if symbol is not None:
            clauses.append("symbol = ?")
            params.append(symbol)
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT {ORDER_COLUMNS} FROM orders{_where(clauses)} ORDER BY created_at",
                params,
            )
        return [order_from_row(row) for row in rows]

    async def owed_releases(self) -> list[Order]:
        """Final orders whose reservation still has to be given back."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE reservation = ? ORDER BY updated_at",
                (str(Reservation.RELEASING),),
            )
        return [order_from_row(row) for row in rows]

    async def activity(self, user_id: str, *, day_start: float) -> Activity:
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = ? "
                f"AND (created_at >= ? OR status IN ({', '.join('?' * len(WORKING_STATUSES))}))",
                (user_id, day_start, *sorted(str(s) for s in WORKING_STATUSES)),
            )
        working: dict[tuple[str, Side], Decimal] = {}
        open_orders = 0
        day_notional = Decimal(0)
        for order in map(order_from_row, rows):
            if order.status in WORKING_STATUSES:
                open_orders += 1
                key = (order.symbol, order.side)
                working[key] = working.get(key, Decimal(0)) + (
                    order.quantity - order.filled_quantity
                )
            if order.created_at >= day_start and order.status is not OrderStatus.REJECTED:
                price = order.limit_price if order.order_type is OrderType.LIMIT else None
                price = price or order.average_fill_price or order.quote_price or Decimal(0)
                day_notional += order.quantity * price
        return Activity(open_orders, day_notional, working)

    # -- trades --

    async def list_trades(
        self, where: TradeFilter, *, page_size: int, page_token: str
    ) -> Page[Trade]:
        equal = {
            "user_id": where.user_id,
            "portfolio_id": where.portfolio_id,
            "order_id": where.order_id,
            "symbol": where.symbol,
        }
        scope = {**equal, "executed_from": where.executed_from, "executed_to": where.executed_to}
        clauses, params = _equal(equal)
        rows, token = await self._keyset(
            _TRADES,
            clauses,
            params,
            (where.executed_from, where.executed_to),
            scope,
            page_size=page_size,
            page_token=page_token,
        )
        return Page(tuple(trade_from_row(row) for row in rows), token)

    async def _keyset(
        self,
        listing: _Listing,
        clauses: list[str],
        params: list[object],
        window: tuple[float | None, float | None],
        scope: Mapping[str, object],
        *,
        page_size: int,
        page_token: str,
    ) -> tuple[list[Row], str]:
        """One page of `listing`, newest first by (time, id), within the time window; the
        token of the next page is "" on the last one."""
        size = paging.page_size(page_size)
        cursor = paging.decode(page_token, scope)
        at, key = listing.time_column, listing.id_column
        for bound, operator in zip(window, (">=", "<"), strict=True):
            if bound is not None:
                clauses.append(f"{at} {operator} ?")
                params.append(bound)
        if cursor is not None:
            clauses.append(f"({at} < ? OR ({at} = ? AND {key} < ?))")
            params.extend((cursor[0], cursor[0], cursor[1]))
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT {listing.columns} FROM {listing.table}{_where(clauses)} "
                f"ORDER BY {at} DESC, {key} DESC LIMIT ?",
                (*params, size + 1),
            )
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            at_value, id_value = last[listing.time_index], last[listing.id_index]
            token = paging.encode(float(at_value), str(id_value), scope)
        return rows[:size], token

    # -- risk limits --

    async def get_limits(self, user_id: str) -> RiskLimits | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT {LIMIT_COLUMNS} FROM risk_limits WHERE user_id = ?", (user_id,)
            )
        return None if row is None else limits_from_row(row)

    async def put_limits(self, limits: RiskLimits) -> RiskLimits:
        columns = [name.strip() for name in LIMIT_COLUMNS.split(",")]
        updates = ", ".join(f"{name} = excluded.{name}" for name in columns[1:])
        async with self.db.transaction(write=True) as tx:
            await tx.execute(
                f"INSERT INTO risk_limits ({LIMIT_COLUMNS}) VALUES ({', '.join('?' * 8)}) "
                f"ON CONFLICT (user_id) DO UPDATE SET {updates}",
                limits_params(limits),
            )
        return limits
