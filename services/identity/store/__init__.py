"""The identity store: users, sessions, refresh tokens, throttling and signing keys."""

from __future__ import annotations

from mesh.store import Migration
from services.identity.store.base import Store
from services.identity.store.errors import (
    DuplicateEmail,
    InvalidPageToken,
    KeyRingConflict,
    StoreError,
    UnsupportedDatabase,
)
from services.identity.store.factory import open_store
from services.identity.store.migrations import MIGRATIONS
from services.identity.store.records import (
    LoginFailures,
    RefreshTokenRecord,
    RevocationReason,
    Role,
    RotateOutcome,
    RotateStatus,
    SessionRecord,
    StoredKeyRing,
    UserChanges,
    UserDeletion,
    UserPage,
    UserRecord,
    UserStatus,
)

__all__ = [
    "MIGRATIONS",
    "DuplicateEmail",
    "InvalidPageToken",
    "KeyRingConflict",
    "LoginFailures",
    "Migration",
    "RefreshTokenRecord",
    "RevocationReason",
    "Role",
    "RotateOutcome",
    "RotateStatus",
    "SessionRecord",
    "Store",
    "StoreError",
    "StoredKeyRing",
    "UnsupportedDatabase",
    "UserChanges",
    "UserDeletion",
    "UserPage",
    "UserRecord",
    "UserStatus",
    "open_store",
]
