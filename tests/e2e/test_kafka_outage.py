"""Kafka down while orders are placed: trading still accepts and fills them (the events wait
in its outbox), and once Kafka is back every event is delivered and applied exactly once.

This platform has a Consul and a Kafka of its own, so stopping its broker disturbs no other
test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from trademesh.notification.v1 import notification_pb2
from trademesh.trading.v1 import trading_pb2

from tests.conftest import eventually
from tests.e2e._books import orders_of, read_books, reconciled
from tests.e2e._platform import Infra, Platform, own_infra, running_platform
from tests.e2e._users import Trader, new_trader, place


@pytest_asyncio.fixture(scope="module")
async def outage(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Infra, Platform]]:
    workdir = tmp_path_factory.mktemp("kafka-outage")
    async with own_infra(workdir / "infra") as infra:
        async with running_platform(infra.consul, infra.kafka.address, workdir) as platform:
            yield infra, platform


async def _feed(platform: Platform, trader: Trader) -> list[Any]:
    notification = await platform.stub("notification")
    items: list[Any] = []
    token = ""
    while True:
        page = await notification.ListNotifications(
            notification_pb2.ListNotificationsRequest(page_size=1000, page_token=token),
            metadata=trader.metadata,
        )
        items.extend(page.notifications)
        token = page.next_page_token
        if not token:
            return items


async def test_orders_placed_while_kafka_is_down_are_settled_once_it_returns(
    outage: tuple[Infra, Platform],
) -> None:
    infra, platform = outage
    trader = await new_trader(platform, "1000000")
    for n in range(3):
        await place(platform, trader, "KO", "1", client_order_id=f"before-{n}")
    before = await reconciled(platform, trader)
    assert len(before.ledger) == 3

    await infra.kafka.stop()
    try:
        placed = [
            await place(
                platform, trader, "KO" if n % 2 else "JPM", "1", client_order_id=f"dark-{n}"
            )
            for n in range(8)
        ]
        # Accepted, then filled: nothing on the path of an order waits for Kafka.
        accepted = {trading_pb2.ORDER_STATUS_OPEN, trading_pb2.ORDER_STATUS_FILLED}
        assert all(o.status in accepted for o in placed), placed
        ids = {o.order_id for o in placed}

        async def all_filled() -> bool:
            orders = [o for o in await orders_of(platform, trader) if o.order_id in ids]
            return all(o.status == trading_pb2.ORDER_STATUS_FILLED for o in orders)

        await eventually(all_filled, timeout=30, what="orders filled while Kafka is down")
        # Settlement only travels through Kafka, so portfolio has not seen these yet.
        dark = await read_books(platform, trader)
        assert len(dark.trades) == 11 and len(dark.ledger) == 3
    finally:
        await infra.kafka.start()

    books = await reconciled(platform, trader, timeout=120)
    assert len(books.trades) == 11
    # One more after the backlog: had any of it been delivered twice, it was applied by now.
    await place(platform, trader, "KO", "1", client_order_id="after")
    books = await reconciled(platform, trader, timeout=60)
    assert len(books.ledger) == 12

    trade_ids = {t.trade_id for t in books.trades}

    async def one_notification_per_event() -> bool:
        feed = await _feed(platform, trader)
        per_trade = Counter(
            n.attributes.get("trade_id")
            for n in feed
            if n.kind == notification_pb2.NOTIFICATION_KIND_TRADE_EXECUTED
        )
        created = [n for n in feed if n.title == "Portfolio Main created"]
        assert set(per_trade) <= trade_ids, per_trade
        assert all(count == 1 for count in per_trade.values()), per_trade
        assert len(created) <= 1, created
        return set(per_trade) == trade_ids and len(created) == 1

    await eventually(
        one_notification_per_event, timeout=60, what="one notification per trade, none twice"
    )
