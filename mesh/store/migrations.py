"""Numbered schema migrations, recorded in `schema_migrations`, applied once per database.

Each service keeps its own ordered tuple of `Migration`s. Statements use only what SQLite and
PostgreSQL both accept, plus `{name}` placeholders for the column types that differ
(`Database.types`: `{serial_pk}`, `{blob}`). A released migration is never edited: changes go
into a new one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from mesh.store.driver import Database
from mesh.store.errors import SchemaTooNew

log = logging.getLogger(__name__)

_CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def _check(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migrations must be numbered 1..n in order, got {versions}")


async def migrate(db: Database, migrations: Sequence[Migration]) -> tuple[int, ...]:
    """Apply the migrations not yet recorded; returns the versions applied by this call.

    One transaction per migration, each under the schema lock, so instances starting together
    apply each migration exactly once. A database that carries versions this release does not
    know was migrated by a newer release: refused with SchemaTooNew.
    """
    _check(migrations)
    known = {m.version for m in migrations}
    applied_now: list[int] = []
    for migration in migrations:
        async with db.transaction(write=True) as tx:
            await db.lock_schema(tx)
            await tx.execute(_CREATE_SCHEMA_MIGRATIONS)
            rows = await tx.fetchall("SELECT version FROM schema_migrations")
            applied = {int(row[0]) for row in rows}
            if applied - known:
                raise SchemaTooNew(
                    f"the database has schema versions {sorted(applied - known)} that "
                    "this release does not know; it was migrated by a newer release"
                )
            if migration.version in applied:
                continue
            for statement in migration.statements:
                await tx.execute(statement.format_map(db.types))
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
        applied_now.append(migration.version)
        log.info("applied schema migration %d (%s)", migration.version, migration.name)
    return tuple(applied_now)
