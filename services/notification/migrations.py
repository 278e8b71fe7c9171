"""The notification store's schema: numbered migrations, never edited once released.

Times are integer microseconds since the Unix epoch; attributes are a JSON object of strings.
"""

from __future__ import annotations

from mesh.events import OUTBOX_STATEMENTS
from mesh.store import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "event bus tables", tuple(OUTBOX_STATEMENTS)),
    Migration(
        2,
        "notifications",
        (
            """
            CREATE TABLE notifications (
                notification_id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                title TEXT NOT NULL,
                body TEXT NOT NULL,
                attributes TEXT NOT NULL,
                event_id TEXT NOT NULL UNIQUE,
                created_us BIGINT NOT NULL,
                read_us BIGINT
            )
            """,
            "CREATE INDEX notifications_feed ON notifications "
            "(user_id, created_us DESC, notification_id DESC)",
            "CREATE INDEX notifications_unread ON notifications "
            "(user_id, created_us DESC, notification_id DESC) WHERE read_us IS NULL",
        ),
    ),
)
