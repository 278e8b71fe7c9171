"""End-to-end fixtures: the real Consul and Kafka of the integration suite, and the whole
platform on them (every service a real process), shared by the tests that do not disturb it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from mesh.infra import Consul, Kafka
from tests.e2e._platform import Platform, running_platform
from tests.integration import conftest as integration

# The integration suite's session fixtures: real Consul, Kafka and PostgreSQL.
infra_dir = integration.infra_dir
consul = integration.consul
kafka = integration.kafka
postgres = integration.postgres


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest_asyncio.fixture(scope="session")
async def platform(
    consul: Consul, kafka: Kafka, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """The five services on SQLite, on the session's Consul and Kafka."""
    async with running_platform(consul, kafka.address, tmp_path_factory.mktemp("platform")) as up:
        yield up
