"""Shared test helpers: polling with a deadline instead of fixed sleeps, and the session
fixtures that run the real Consul, Kafka and PostgreSQL on free loopback ports (started only
when a test asks for them, once for the integration and end-to-end suites together).

Each gets its own state dir under pytest's tmp path; a component that fails to start raises
StartError, whose message carries the tail of the component's log.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import pytest_asyncio

from mesh.infra import Consul, ConsulConfig, Kafka, KafkaConfig
from mesh.infra.ports import free_ports
from tests._postgres import PostgresServer

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float = 30.0,
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    """Await `probe()` until it returns a truthy value (or stops raising AssertionError)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: object = None
    while True:
        try:
            value = await probe()
            if value:
                return value
            last = value
        except AssertionError as exc:
            last = exc
        if loop.time() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s (last: {last!r})")
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
def infra_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("infra")


@pytest_asyncio.fixture(scope="session")
async def consul(infra_dir: Path) -> AsyncIterator[Consul]:
    http, serf, server = free_ports(3)
    component = Consul(
        ConsulConfig(http_port=http, serf_lan_port=serf, server_port=server), infra_dir
    )
    async with component:
        yield component


@pytest_asyncio.fixture(scope="session")
async def kafka(infra_dir: Path) -> AsyncIterator[Kafka]:
    port, controller = free_ports(2)
    component = Kafka(KafkaConfig(port=port, controller_port=controller), infra_dir)
    async with component:
        yield component


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster, started only when a test asks for it and removed at the end."""
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
