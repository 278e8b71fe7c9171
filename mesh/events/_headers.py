"""CloudEvents Kafka binding (binary mode) headers, plus W3C trace context and correlation id."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry import propagate

from mesh import context
from mesh.events.topics import Topic

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/protobuf"
CORRELATION_ID = "x-correlation-id"
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"

CE_ID = "ce_id"
CE_TYPE = "ce_type"
CE_SOURCE = "ce_source"
CE_TIME = "ce_time"
CE_SPECVERSION = "ce_specversion"

KafkaHeaders = list[tuple[str, bytes]]


def check_event(topic: Topic, event: Message, key: str) -> str:
    """The event id of `event`, after checking it belongs on `topic` with a non-empty key."""
    if not isinstance(event, topic.message_type):
        raise TypeError(
            f"topic {topic.name} carries {topic.event_type}, not {event.DESCRIPTOR.full_name}"
        )
    if not key:
        raise ValueError(f"an event for {topic.name} needs a key ({topic.key})")
    return event_id_of(event)


def event_id_of(event: Message) -> str:
    event_id = getattr(event, "event_id", "")
    if not isinstance(event_id, str) or not event_id:
        raise ValueError(f"{event.DESCRIPTOR.full_name} has no event_id")
    return event_id


def _event_time(event: Message) -> str:
    moment = datetime.fromtimestamp(time.time(), tz=UTC)
    if "occurred_at" in event.DESCRIPTOR.fields_by_name and event.HasField("occurred_at"):
        occurred: Timestamp = getattr(event, "occurred_at")  # noqa: B009
        moment = occurred.ToDatetime(tzinfo=UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def event_headers(event: Message) -> dict[str, str]:
    """Every header but `ce_source` (the publisher adds that) for `event`, with the trace
    context and correlation id of the current call."""
    headers = {
        CE_SPECVERSION: SPEC_VERSION,
        CE_ID: event_id_of(event),
        CE_TYPE: event.DESCRIPTOR.full_name,
        CE_TIME: _event_time(event),
        "content-type": CONTENT_TYPE,
    }
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    for name in (TRACEPARENT, TRACESTATE):
        if carrier.get(name):
            headers[name] = carrier[name]
    correlation_id = context.current().correlation_id or getattr(event, "correlation_id", "")
    if correlation_id:
        headers[CORRELATION_ID] = correlation_id
    return headers


def to_kafka(headers: Mapping[str, str], source: str) -> KafkaHeaders:
    out = [(name, value.encode()) for name, value in headers.items()]
    out.append((CE_SOURCE, source.encode()))
    return out


def from_kafka(headers: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    """Record headers as text; the last value wins, undecodable bytes are replaced."""
    return {name: (value or b"").decode("utf-8", "replace") for name, value in headers or ()}
