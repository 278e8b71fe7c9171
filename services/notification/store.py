"""The notification feed in SQL, over the shared store layer (SQLite or PostgreSQL).

Events are applied with `mark_processed` in the same transaction as the insert, so a
redelivered event never makes a second notification; the notification id, derived from the
event id, is a second guard.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from mesh.events import mark_processed
from mesh.store import Database, Row, Transaction, migrate
from services.notification.migrations import MIGRATIONS
from services.notification.models import Kind, Notification
from services.notification.paging import Cursor

_COLUMNS = "notification_id, user_id, kind, title, body, attributes, event_id, created_us, read_us"
_NEWEST_FIRST = "ORDER BY created_us DESC, notification_id DESC"


class NotYours(LookupError):
    """Some ids name no notification of the user (none of theirs, or none at all)."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(f"no such notifications: {', '.join(ids)}")
        self.ids = tuple(ids)


@dataclass(frozen=True, slots=True)
class Listing:
    notifications: list[Notification]
    has_more: bool
    unread_count: int


def _notification(row: Row) -> Notification:
    attributes = json.loads(row[5])
    return Notification(
        notification_id=str(row[0]),
        user_id=str(row[1]),
        kind=Kind(row[2]),
        title=str(row[3]),
        body=str(row[4]),
        attributes={str(k): str(v) for k, v in attributes.items()},
        event_id=str(row[6]),
        created_us=int(row[7]),
        read_us=None if row[8] is None else int(row[8]),
    )


async def insert(tx: Transaction, notification: Notification) -> bool:
    """Add `notification` inside `tx`; False when its id or event is already stored."""
    count = await tx.execute(
        f"INSERT INTO notifications ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (
            notification.notification_id,
            notification.user_id,
            str(notification.kind),
            notification.title,
            notification.body,
            json.dumps(dict(notification.attributes), sort_keys=True),
            notification.event_id,
            notification.created_us,
            notification.read_us,
        ),
    )
    return count == 1


class NotificationStore:
    """The per-user feed. `close()` closes the database; safe to call twice."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> tuple[int, ...]:
        return await migrate(self.db, MIGRATIONS)

    async def close(self) -> None:
        await self.db.close()

    async def apply(self, consumer: str, event_id: str, notification: Notification | None) -> bool:
        """Record that `consumer` applied `event_id`, storing `notification` (if any) in the
        same transaction. False when the event was applied before: nothing changes."""
        async with self.db.transaction(write=True) as tx:
            if not await mark_processed(tx, consumer, event_id):
                return False
            if notification is not None:
                await insert(tx, notification)
        return True

    async def get(self, notification_id: str) -> Notification | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT {_COLUMNS} FROM notifications WHERE notification_id = ?",
                (notification_id,),
            )
        return None if row is None else _notification(row)

    async def list(
        self, user_id: str, *, limit: int, unread_only: bool, after: Cursor | None
    ) -> Listing:
        """Up to `limit` of the user's notifications, newest first, after `after`."""
        where = ["user_id = ?"]
        params: list[object] = [user_id]
        if unread_only:
            where.append("read_us IS NULL")
        if after is not None:
            where.append("(created_us < ? OR (created_us = ? AND notification_id < ?))")
            params += [after.created_us, after.created_us, after.notification_id]
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT {_COLUMNS} FROM notifications WHERE {' AND '.join(where)} "
                f"{_NEWEST_FIRST} LIMIT ?",
                (*params, limit + 1),
            )
            unread = await tx.fetchone(
                "SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_us IS NULL",
                (user_id,),
            )
        return Listing(
            notifications=[_notification(row) for row in rows[:limit]],
            has_more=len(rows) > limit,
            unread_count=int(unread[0]) if unread else 0,
        )

    async def mark_read(self, user_id: str, ids: Sequence[str], *, now_us: int) -> int:
        """Mark the user's notifications `ids` read; how many were unread. Raises NotYours,
        changing nothing, if any id is not one of the user's notifications."""
        marks = ", ".join("?" * len(ids))
        async with self.db.transaction(write=True) as tx:
            rows = await tx.fetchall(
                "SELECT notification_id FROM notifications "
                f"WHERE user_id = ? AND notification_id IN ({marks})",
                (user_id, *ids),
            )
            found = {str(row[0]) for row in rows}
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotYours(missing)
            return await tx.execute(
                "UPDATE notifications SET read_us = ? "
                f"WHERE user_id = ? AND read_us IS NULL AND notification_id IN ({marks})",
                (now_us, user_id, *ids),
            )

    async def prune(self, *, older_than_us: int) -> int:
        """Delete notifications created before `older_than_us`; returns how many."""
        async with self.db.transaction(write=True) as tx:
            return await tx.execute(
                "DELETE FROM notifications WHERE created_us < ?", (older_than_us,)
            )

    async def mark_all_read(self, user_id: str, *, now_us: int) -> int:
        async with self.db.transaction(write=True) as tx:
            return await tx.execute(
                "UPDATE notifications SET read_us = ? WHERE user_id = ? AND read_us IS NULL",
                (now_us, user_id),
            )
