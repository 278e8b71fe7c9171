"""End-to-end fixtures: the whole platform, every service a real process, on the session's
real Consul and Kafka (tests/conftest.py), shared by the tests that do not disturb it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from mesh.infra import Consul, Kafka
from tests.e2e._platform import Platform, running_platform


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
