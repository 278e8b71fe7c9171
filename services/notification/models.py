"""The notification feed's records: what a notification is, as stored and as listed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """What a notification is about (the contract's NotificationKind)."""

    ORDER_UPDATED = "order_updated"
    TRADE_EXECUTED = "trade_executed"
    SESSION_REVOKED = "session_revoked"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Notification:
    """One entry of a user's feed. Times are integer microseconds since the Unix epoch, so
    the same notification reads the same from any store and from any instance's stream."""

    notification_id: str
    user_id: str
    kind: Kind
    title: str
    body: str
    event_id: str
    created_us: int
    attributes: Mapping[str, str] = field(default_factory=dict)
    read_us: int | None = None

    @property
    def is_read(self) -> bool:
        return self.read_us is not None


@dataclass(frozen=True, slots=True)
class Page:
    notifications: Sequence[Notification]
    next_page_token: str
    unread_count: int
