"""The trading store on SQLite and PostgreSQL: idempotent inserts, transitions that commit
with their outbox rows or not at all, paging, activity and limits."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace
from decimal import Decimal

import pytest

from services.trading import events
from services.trading.models import (
    Order,
    OrderStatus,
    OrderType,
    Reservation,
    RiskLimits,
    Side,
    TimeInForce,
    Trade,
)
from services.trading.store import Change, DuplicateOrder, OrderFilter, TradeFilter, TradingStore


def _order(
    user_id: str, client_order_id: str, *, at: float | None = None, **changes: object
) -> Order:
    now = time.time() if at is None else at
    order = Order(
        order_id=str(uuid.uuid4()),
        client_order_id=client_order_id,
        user_id=user_id,
        portfolio_id=str(uuid.uuid4()),
        symbol="AAPL",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        quantity=Decimal("1.5"),
        limit_price=Decimal("100.25"),
        status=OrderStatus.PENDING,
        filled_quantity=Decimal(0),
        average_fill_price=None,
        reject_reason="",
        reject_code="",
        currency="USD",
        reservation=Reservation.RESERVING,
        reserved_amount=Decimal("150.45"),
        quote_price=Decimal("101"),
        expires_at=None,
        correlation_id="corr-1",
        created_at=now,
        updated_at=now,
    )
    return replace(order, **changes)  # type: ignore[arg-type]


async def _outbox(store: TradingStore) -> list[tuple[str, str]]:
    async with store.db.transaction() as tx:
        rows = await tx.fetchall("SELECT topic, event_key FROM outbox ORDER BY seq")
    return [(str(r[0]), str(r[1])) for r in rows]


async def test_migrations_apply_once(store: TradingStore) -> None:
    assert await store.migrate() == ()


async def test_insert_round_trips_exact_decimals_and_refuses_a_reused_client_id(
    store: TradingStore,
) -> None:
    user = str(uuid.uuid4())
    order = _order(user, "c-1")
    await store.insert_order(order, (events.order_updated(order, None),))
    assert await store.get_order(order.order_id) == order
    assert await _outbox(store) == [("trading.orders.v1", user)]

    with pytest.raises(DuplicateOrder) as raised:
        await store.insert_order(_order(user, "c-1"), (events.order_updated(order, None),))
    assert raised.value.existing.order_id == order.order_id
    assert len(await _outbox(store)) == 1  # the duplicate's event rolled back with it
    await store.insert_order(_order(str(uuid.uuid4()), "c-1"))  # another user's key


async def test_concurrent_inserts_of_one_client_id_leave_one_order(store: TradingStore) -> None:
    user = str(uuid.uuid4())
    results = await asyncio.gather(
        *(store.insert_order(_order(user, "same")) for _ in range(20)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Order)]
    losers = [r for r in results if isinstance(r, DuplicateOrder)]
    assert len(winners) == 1 and len(losers) == 19
    assert {loser.existing.order_id for loser in losers} == {winners[0].order_id}


async def test_a_fill_commits_trade_order_and_events_together(store: TradingStore) -> None:
    order = _order(str(uuid.uuid4()), "fill", status=OrderStatus.OPEN)
    await store.insert_order(order)
    trade = Trade(
        trade_id=str(uuid.uuid4()),
        order_id=order.order_id,
        user_id=order.user_id,
        portfolio_id=order.portfolio_id,
        symbol="AAPL",
        side=Side.BUY,
        quantity=order.quantity,
        price=Decimal("99.5"),
        notional=Decimal("149.25"),
        fee=Decimal("0.07"),
        currency="USD",
        executed_at=time.time(),
    )

    def filled(current: Order) -> Change | None:
        if current.status is not OrderStatus.OPEN:
            return None
        after = current.changed(now=time.time(), status=OrderStatus.FILLED)
        return Change(
            after,
            (events.trade_executed(trade, after), events.order_updated(after, current.status)),
            trade,
        )

    transition = await store.update_order(order.order_id, filled)
    assert transition is not None and transition.changed
    assert transition.after.version == order.version + 1
    again = await store.update_order(order.order_id, filled)  # already filled: no change
    assert again is not None and not again.changed
    page = await store.list_trades(TradeFilter(order_id=order.order_id), page_size=0, page_token="")
    assert page.items == (trade,)
    assert await _outbox(store) == [
        ("trading.trades.v1", order.portfolio_id),
        ("trading.orders.v1", order.user_id),
    ]

    # A transition that fails midway leaves neither the row nor the outbox changed.
    def broken(current: Order) -> Change | None:
        raise RuntimeError("decided badly")

    with pytest.raises(RuntimeError):
        await store.update_order(order.order_id, broken)
    assert (await store.get_order(order.order_id)) == transition.after
    assert len(await _outbox(store)) == 2


async def test_a_second_trade_for_an_order_is_refused(store: TradingStore) -> None:
    order = _order(str(uuid.uuid4()), "double", status=OrderStatus.OPEN)
    await store.insert_order(order)

    def fill_regardless(current: Order) -> Change:
        trade = Trade(
            str(uuid.uuid4()), order.order_id, order.user_id, order.portfolio_id, "AAPL",
            Side.BUY, Decimal(1), Decimal(1), Decimal(1), Decimal(0), "USD", time.time(),
        )  # fmt: skip
        return Change(current.changed(now=time.time()), (), trade)

    await store.update_order(order.order_id, fill_regardless)
    with pytest.raises(Exception, match="constraint"):
        await store.update_order(order.order_id, fill_regardless)


async def test_listing_pages_newest_first_and_activity_counts_working_orders(
    store: TradingStore,
) -> None:
    user = str(uuid.uuid4())
    base = time.time() - 100
    placed = [
        await store.insert_order(_order(user, f"o-{n}", at=base + n, status=OrderStatus.OPEN))
        for n in range(7)
    ]
    await store.insert_order(_order(str(uuid.uuid4()), "someone-else", at=base))
    seen: list[str] = []
    token = ""
    while True:
        page = await store.list_orders(OrderFilter(user_id=user), page_size=3, page_token=token)
        seen.extend(o.order_id for o in page.items)
        token = page.next_page_token
        if not token:
            break
    assert seen == [o.order_id for o in reversed(placed)]

    activity = await store.activity(user, day_start=base - 1)
    assert activity.open_orders == 7
    assert activity.working_quantity("AAPL", Side.BUY) == Decimal("10.5")
    assert activity.day_notional == 7 * Decimal("1.5") * Decimal("100.25")
    assert len(await store.working_orders(symbol="AAPL")) == 8


async def test_limits_upsert(store: TradingStore) -> None:
    user = str(uuid.uuid4())
    assert await store.get_limits(user) is None
    first = RiskLimits(user, max_order_quantity=Decimal(5), max_open_orders=3, updated_at=1.0)
    await store.put_limits(first)
    second = RiskLimits(
        user, max_daily_notional=Decimal("1000.5"), trading_disabled=True, updated_at=2.0
    )
    await store.put_limits(second)
    assert await store.get_limits(user) == second
