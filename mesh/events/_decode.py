"""Turning a Kafka record into a `Delivery`, or saying exactly why it cannot be one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.message import DecodeError, Message

from mesh.events._headers import CE_ID, CE_TYPE, CORRELATION_ID, TRACEPARENT, from_kafka
from mesh.events.delivery import Delivery
from mesh.events.topics import Topic, message_type_for


class Undecodable(Exception):
    """The record is not an event this consumer can hand to its handler."""


def decode(record: Any, topics: Mapping[str, Topic]) -> Delivery:
    topic = topics.get(record.topic)
    if topic is None:
        raise Undecodable(f"not subscribed to topic {record.topic}")
    headers = from_kafka(record.headers)
    event_type = headers.get(CE_TYPE)
    if event_type is not None and event_type != topic.event_type:
        known = message_type_for(event_type) is not None
        raise Undecodable(
            f"ce_type {event_type!r} does not belong on {topic.name} "
            f"(expected {topic.event_type}{'' if known else '; type unknown'})"
        )
    if record.value is None:
        raise Undecodable("record has no value (tombstone)")
    try:
        event: Message = topic.message_type.FromString(record.value)
    except DecodeError as exc:
        raise Undecodable(f"value is not a {topic.event_type}: {exc}") from None
    event_id = str(getattr(event, "event_id", ""))
    header_id = headers.get(CE_ID)
    if not event_id:
        raise Undecodable("event has no event_id")
    if header_id is not None and header_id != event_id:
        raise Undecodable(f"ce_id {header_id!r} differs from event_id {event_id!r}")
    return Delivery(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=None if record.key is None else record.key.decode("utf-8", "replace"),
        event=event,
        event_id=event_id,
        headers=headers,
        correlation_id=headers.get(CORRELATION_ID) or str(getattr(event, "correlation_id", "")),
        traceparent=headers.get(TRACEPARENT),
    )


def trace_carrier(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in ("traceparent", "tracestate") if name in headers}
