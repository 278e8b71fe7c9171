"""Identity's schema, as numbered migrations (see mesh.store.migrations). Times are Unix
seconds."""

from __future__ import annotations

from mesh.events import OUTBOX_STATEMENTS
from mesh.store import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users and roles",
        (
            """
            CREATE TABLE users (
                user_id TEXT PRIMARY KEY,
                email TEXT NOT NULL,
                display_name TEXT NOT NULL,
                status TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                deleted_at DOUBLE PRECISION
            )
            """,
            # A deleted user frees their email for a new registration.
            "CREATE UNIQUE INDEX users_live_email ON users (email) WHERE deleted_at IS NULL",
            "CREATE INDEX users_created ON users (created_at, user_id)",
            """
            CREATE TABLE user_roles (
                user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
                role TEXT NOT NULL,
                PRIMARY KEY (user_id, role)
            )
            """,
            "CREATE INDEX user_roles_role ON user_roles (role, user_id)",
        ),
    ),
    Migration(
        2,
        "sessions and refresh tokens",
        (
            """
            CREATE TABLE sessions (
                session_id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                access_expires_at DOUBLE PRECISION NOT NULL,
                revoked_at DOUBLE PRECISION,
                revoke_reason TEXT
            )
            """,
            "CREATE INDEX sessions_user ON sessions (user_id)",
            "CREATE INDEX sessions_expires ON sessions (expires_at)",
            """
            CREATE TABLE refresh_tokens (
                token_id TEXT PRIMARY KEY,
                session_id TEXT NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
                issued_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                used_at DOUBLE PRECISION,
                replaced_by TEXT
            )
            """,
            "CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)",
        ),
    ),
    Migration(
        3,
        "failed sign-in counters",
        (
            """
            CREATE TABLE login_failures (
                login_key TEXT PRIMARY KEY,
                failures INTEGER NOT NULL,
                last_failure_at DOUBLE PRECISION NOT NULL,
                locked_until DOUBLE PRECISION
            )
            """,
        ),
    ),
    Migration(
        4,
        "signing key ring",
        (
            """
            CREATE TABLE signing_keys (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                ring TEXT NOT NULL,
                version BIGINT NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """,
        ),
    ),
    Migration(5, "outbox and processed events", OUTBOX_STATEMENTS),
)
