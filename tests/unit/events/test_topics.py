"""The topics table: one entry per event stream, each message an event with an id."""

from __future__ import annotations

import pytest

from mesh.events import (
    ORDERS,
    PORTFOLIO_UPDATES,
    QUOTES,
    SESSIONS,
    TOPICS,
    TRADES,
    dlq_name,
    message_type_for,
    topic_named,
)


def test_the_table_names_every_stream_once() -> None:
    names = [topic.name for topic in TOPICS]
    assert names == [
        "identity.sessions.v1",
        "marketdata.quotes.v1",
        "trading.orders.v1",
        "trading.trades.v1",
        "portfolio.updates.v1",
    ]
    assert len({topic.event_type for topic in TOPICS}) == len(TOPICS)


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.name)
def test_every_message_is_an_event(topic: object) -> None:
    fields = topic.message_type.DESCRIPTOR.fields_by_name  # type: ignore[attr-defined]
    assert {"event_id", "occurred_at", "correlation_id"} <= set(fields)
    assert topic.partitions >= 1  # type: ignore[attr-defined]


def test_keys_and_compaction() -> None:
    assert QUOTES.compacted and QUOTES.key == "symbol"
    assert not TRADES.compacted and TRADES.key == "portfolio id"
    assert ORDERS.key == "user id"
    assert PORTFOLIO_UPDATES.key == "portfolio id"
    assert SESSIONS.event_type == "trademesh.identity.v1.SessionRevoked"


def test_lookups() -> None:
    assert topic_named("trading.trades.v1") is TRADES
    assert TRADES.dlq == dlq_name("trading.trades.v1") == "trading.trades.v1.dlq"
    assert message_type_for("trademesh.trading.v1.TradeExecuted") is TRADES.message_type
    assert message_type_for("trademesh.nope.v1.Nothing") is None
    with pytest.raises(KeyError, match="known"):
        topic_named("trading.trade.v1")
