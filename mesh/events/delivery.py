"""What a consumer's handler receives for one record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from google.protobuf.message import Message


@dataclass(frozen=True, slots=True)
class Delivery:
    """One decoded record. `headers` holds every record header as text."""

    topic: str
    partition: int
    offset: int
    key: str | None
    event: Message  # decoded by `ce_type` through the topics table
    event_id: str  # `ce_id`, equal to `event.event_id`
    headers: Mapping[str, str]
    correlation_id: str
    traceparent: str | None


Handler = Callable[[Delivery], Awaitable[None]]
"""Applies one delivery; raising means "not applied" (retried, then dead-lettered)."""
