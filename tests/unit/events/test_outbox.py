"""enqueue and mark_processed inside the caller's transaction (SQLite; PostgreSQL in
tests/integration/events)."""

from __future__ import annotations

import json
import uuid

import pytest
from opentelemetry.sdk.trace import TracerProvider
from trademesh.trading.v1 import events_pb2 as trading_events

from mesh import context
from mesh.events import ORDERS, TRADES, enqueue, mark_processed, prune_processed
from mesh.store import Database, IntegrityViolation


def trade(event_id: str | None = None) -> trading_events.TradeExecuted:
    event = trading_events.TradeExecuted(
        event_id=event_id or str(uuid.uuid4()), correlation_id="event-cid"
    )
    event.occurred_at.FromSeconds(1_750_000_000)
    event.trade.trade_id = "t-1"
    return event


async def rows(db: Database) -> list[tuple[object, ...]]:
    async with db.transaction() as tx:
        return await tx.fetchall(
            "SELECT seq, event_id, topic, event_key, payload, event_type, headers, "
            "published_at, attempts FROM outbox ORDER BY seq"
        )


async def test_a_rolled_back_transaction_leaves_nothing(db: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.transaction(write=True) as tx:
            await enqueue(tx, TRADES, trade(), key="p-1")
            raise Boom
    assert await rows(db) == []


async def test_a_committed_event_is_stored_with_its_headers(db: Database) -> None:
    event = trade()
    tracer = TracerProvider().get_tracer("test")
    with (
        context.bind(correlation_id="call-cid"),
        tracer.start_as_current_span("call") as span,
    ):
        async with db.transaction(write=True) as tx:
            await enqueue(tx, TRADES, event, key="p-1")
    [(seq, event_id, topic, key, payload, event_type, headers, published, attempts)] = await rows(
        db
    )
    assert (event_id, topic, key, event_type) == (
        event.event_id,
        "trading.trades.v1",
        "p-1",
        "trademesh.trading.v1.TradeExecuted",
    )
    assert trading_events.TradeExecuted.FromString(bytes(payload)) == event  # type: ignore[arg-type]
    assert published is None and attempts == 0 and isinstance(seq, int)
    stored = json.loads(str(headers))
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert stored["ce_id"] == event.event_id
    assert stored["ce_type"] == "trademesh.trading.v1.TradeExecuted"
    assert stored["ce_specversion"] == "1.0"
    assert stored["ce_time"] == "2025-06-15T15:06:40.000000Z"
    assert stored["x-correlation-id"] == "call-cid"
    assert stored["traceparent"].split("-")[1] == trace_id


async def test_outside_a_call_the_events_correlation_id_is_used(db: Database) -> None:
    async with db.transaction(write=True) as tx:
        await enqueue(tx, TRADES, trade(), key="p-1")
    [row] = await rows(db)
    headers = json.loads(str(row[6]))
    assert headers["x-correlation-id"] == "event-cid"
    assert "traceparent" not in headers


async def test_bad_events_are_refused_and_change_nothing(db: Database) -> None:
    async with db.transaction(write=True) as tx:
        with pytest.raises(TypeError, match=r"trading\.orders\.v1 carries"):
            await enqueue(tx, ORDERS, trade(), key="u-1")
        with pytest.raises(ValueError, match="needs a key"):
            await enqueue(tx, TRADES, trade(), key="")
        with pytest.raises(ValueError, match="no event_id"):
            await enqueue(tx, TRADES, trading_events.TradeExecuted(), key="p-1")
    assert await rows(db) == []


async def test_the_same_event_id_twice_breaks_the_transaction(db: Database) -> None:
    event = trade()
    with pytest.raises(IntegrityViolation):
        async with db.transaction(write=True) as tx:
            await enqueue(tx, TRADES, event, key="p-1")
            await enqueue(tx, TRADES, event, key="p-1")
    assert await rows(db) == []


async def test_mark_processed_is_true_once_per_consumer(db: Database) -> None:
    async with db.transaction(write=True) as tx:
        assert await mark_processed(tx, "portfolio", "e-1")
        assert not await mark_processed(tx, "portfolio", "e-1")
        assert await mark_processed(tx, "notification", "e-1")
    async with db.transaction(write=True) as tx:
        assert not await mark_processed(tx, "portfolio", "e-1")


async def test_a_rolled_back_mark_is_forgotten(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction(write=True) as tx:
            assert await mark_processed(tx, "portfolio", "e-2")
            raise RuntimeError("apply failed")
    async with db.transaction(write=True) as tx:
        assert await mark_processed(tx, "portfolio", "e-2")


async def test_prune_forgets_old_ids_only(db: Database) -> None:
    async with db.transaction(write=True) as tx:
        await mark_processed(tx, "portfolio", "old")
        await tx.execute("UPDATE processed_events SET processed_at = 0 WHERE event_id = 'old'")
        await mark_processed(tx, "portfolio", "new")
        assert await prune_processed(tx, 3600) == 1
        assert not await mark_processed(tx, "portfolio", "new")
        assert await mark_processed(tx, "portfolio", "old")
