"""Callers that vanish mid-call: hundreds of PlaceOrder calls with tiny deadlines, and a
channel closed with calls in flight. Afterwards the store serves this service and another
connection, and every order ends consistent with portfolio's reservations."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal

import grpc
from trademesh.trading.v1 import trading_pb2, trading_pb2_grpc

from services.trading.models import OrderStatus, Reservation

from .harness import Harness, User

CALLS = 300

# Reads an order and writes risk limits through its own connection.
_OTHER_PROCESS = """
import asyncio, sys, uuid
from pathlib import Path
from mesh.store import open_database
from services.trading.models import RiskLimits
from services.trading.store import TradingStore

async def main(url: str, path: str, order_id: str) -> None:
    store = TradingStore(open_database(url or None, Path(path), name="trading"))
    try:
        await store.put_limits(RiskLimits(user_id=str(uuid.uuid4()), updated_at=1.0))
        assert await store.get_order(order_id) is not None
    finally:
        await store.close()
    print("ok")

asyncio.run(main(*sys.argv[1:]))
"""


def _request(user: User, n: int) -> trading_pb2.PlaceOrderRequest:
    limit = n % 2 == 0
    return trading_pb2.PlaceOrderRequest(
        portfolio_id=user.portfolio_id,
        client_order_id=f"storm-{n}",
        symbol="AAPL",
        side=1,
        order_type=trading_pb2.ORDER_TYPE_LIMIT if limit else trading_pb2.ORDER_TYPE_MARKET,
        limit_price="90" if limit else "",
        quantity="1",
        time_in_force=trading_pb2.TIME_IN_FORCE_GTC,
    )


async def _call(call: object) -> None:
    try:
        await call  # type: ignore[misc]
    except (grpc.aio.AioRpcError, asyncio.CancelledError):
        pass


async def vanishing_callers(harness: Harness) -> None:
    alice = harness.user(cash="100000000")
    # Tiny deadlines: many calls are given up while their transactions begin or commit.
    # Deadlines from 1 ms to 0.6 s: under this load some end before the risk checks, some
    # between the order's insert and the reservation, some while transactions commit.
    tiny = [
        harness.api.PlaceOrder(
            _request(alice, n), metadata=alice.auth, timeout=0.001 * (1 + (n * 37) % 600)
        )
        for n in range(CALLS)
    ]
    await asyncio.gather(*(_call(c) for c in tiny))

    # A second channel closed with hundreds of calls in flight.
    channel = grpc.aio.insecure_channel(harness.address)
    stub = trading_pb2_grpc.TradingServiceStub(channel)
    in_flight = [
        asyncio.ensure_future(
            _call(stub.PlaceOrder(_request(alice, CALLS + n), metadata=alice.auth, timeout=30))
        )
        for n in range(CALLS)
    ]
    reserved_before = harness.portfolio.reserve_calls
    async with asyncio.timeout(30):
        while harness.portfolio.reserve_calls < reserved_before + 10:
            await asyncio.sleep(0.001)
    await channel.close()
    await asyncio.wait(in_flight, timeout=30)

    # This process still reads and writes.
    order = await harness.place(alice, client_order_id="after-the-storm")
    assert order.status == trading_pb2.ORDER_STATUS_FILLED
    listed = await harness.api.ListOrders(
        trading_pb2.ListOrdersRequest(page_size=1000), metadata=alice.auth
    )
    assert len(listed.orders) >= 1

    # So does another process on the same database, as another instance would.
    config = harness.config()
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _OTHER_PROCESS,
        config.database_url or "",
        str(config.sqlite_path),
        order.order_id,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(other.communicate(), 60)
    assert other.returncode == 0, output.decode()
    assert output.decode().strip().endswith("ok")

    # Every order comes out whole once the steps the callers left behind have run and the
    # sweep has had its turn.
    async with asyncio.timeout(60):
        while harness.service.saga.steps_running:
            await asyncio.sleep(0.01)
    harness.clock.advance(30)
    await harness.service.recovery.sweep()
    store = harness.service.store
    account = harness.account(alice)
    orders = [o for o in await store.working_orders()]
    orders += [
        o
        for o in [
            await store.find_client_order(alice.user_id, f"storm-{n}") for n in range(2 * CALLS)
        ]
        if o is not None and o.status.is_final
    ]
    for stored in orders:
        assert stored.status is not OrderStatus.PENDING, stored
        reserved = account.reserved.get(stored.order_id)
        if stored.status in (OrderStatus.OPEN, OrderStatus.FILLED):
            assert reserved == stored.reserved_amount, stored
        else:
            assert reserved is None, stored
            assert stored.reservation in (Reservation.NONE, Reservation.RELEASED), stored
    assert set(account.reserved) <= {o.order_id for o in orders} | {order.order_id}
    assert sum(account.reserved.values(), Decimal(0)) <= account.cash
