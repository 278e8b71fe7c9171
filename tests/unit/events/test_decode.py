"""Records to deliveries: what decodes, and the exact reason for what does not."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from trademesh.trading.v1 import events_pb2 as trading_events

from mesh.events import ORDERS, TRADES
from mesh.events._decode import Undecodable, decode

TOPICS = {TRADES.name: TRADES}


@dataclass
class Record:
    value: bytes | None
    headers: list[tuple[str, bytes]]
    topic: str = TRADES.name
    partition: int = 2
    offset: int = 41
    key: bytes | None = b"p-1"


def good(**headers: str) -> Record:
    event = trading_events.TradeExecuted(event_id="e-1", correlation_id="event-cid")
    base = {"ce_id": "e-1", "ce_type": TRADES.event_type, **headers}
    return Record(event.SerializeToString(), [(k, v.encode()) for k, v in base.items()])


def test_a_good_record_becomes_a_delivery() -> None:
    delivery = decode(good(traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01"), TOPICS)
    assert delivery.event == trading_events.TradeExecuted(
        event_id="e-1", correlation_id="event-cid"
    )
    assert (delivery.topic, delivery.partition, delivery.offset) == (TRADES.name, 2, 41)
    assert delivery.key == "p-1"
    assert delivery.event_id == "e-1"
    assert delivery.correlation_id == "event-cid"
    assert delivery.traceparent is not None and delivery.traceparent.startswith("00-1111")


def test_the_header_correlation_id_wins() -> None:
    assert decode(good(**{"x-correlation-id": "hdr"}), TOPICS).correlation_id == "hdr"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (Record(b"\xff\xff\xff garbage", []), "is not a trademesh.trading.v1.TradeExecuted"),
        (Record(b"", []), "no event_id"),
        (Record(None, []), "tombstone"),
        (good(ce_type=ORDERS.event_type), "does not belong on trading.trades.v1"),
        (good(ce_type="x.Unknown"), "type unknown"),
        (good(ce_id="e-2"), "differs from event_id"),
        (Record(b"", [], topic="elsewhere"), "not subscribed"),
    ],
)
def test_undecodable_records_say_why(record: Record, reason: str) -> None:
    with pytest.raises(Undecodable, match=reason):
        decode(record, TOPICS)
