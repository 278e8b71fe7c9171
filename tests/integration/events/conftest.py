"""Event bus fixtures: a fast-paced config for the shared broker, fresh topics per test, and a
database with the outbox tables on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from mesh.events import TRADES, EventsConfig, Topic, ensure_topics
from mesh.infra import Kafka
from mesh.store import Database, open_database
from tests.integration.events.helpers import migrate_all


def fast_config(bootstrap_servers: str) -> EventsConfig:
    return EventsConfig(
        bootstrap_servers=bootstrap_servers,
        client_id=f"test-{uuid.uuid4().hex[:6]}",
        request_timeout_seconds=5.0,
        relay_poll_interval_seconds=0.2,
        relay_backoff_initial_seconds=0.1,
        relay_backoff_max_seconds=1.0,
        consumer_max_attempts=3,
        consumer_backoff_initial_seconds=0.02,
        consumer_backoff_max_seconds=0.1,
    )


@pytest.fixture
def config(kafka: Kafka) -> EventsConfig:
    return fast_config(kafka.address)


@pytest_asyncio.fixture
async def topic(config: EventsConfig) -> Topic:
    """A fresh trades-shaped topic (and its DLQ) on the shared broker."""
    fresh = dataclasses.replace(TRADES, name=f"test.trades.{uuid.uuid4().hex[:10]}")
    await ensure_topics(config, [fresh])
    return fresh


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest_asyncio.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    database = open_database(database_url, tmp_path / "unused.sqlite3", max_connections=6)
    try:
        await migrate_all(database)
        yield database
    finally:
        await database.close()
