"""Session fixtures for service integration tests: a real PostgreSQL cluster.

It starts only when a test asks for it, on a free loopback port, and is removed at the end
of the session; a failed start raises with the tail of the server log.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.services._postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database, dropped after the test."""
    name = postgres.create_database()
    try:
        yield postgres.url(name)
    finally:
        postgres.drop_database(name)
