"""End-to-end fixtures: the whole platform, every service a real process, on a real Consul
and Kafka of its own, shared by the tests that do not disturb it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.e2e._platform import Platform, own_infra, running_platform


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """The five services on SQLite, on a Consul and Kafka of their own: no other suite's
    instances of the same services share their discovery or their consumer groups, and all
    of it is gone once the end-to-end tests are."""
    workdir = tmp_path_factory.mktemp("platform")
    async with (
        own_infra(workdir / "infra") as infra,
        running_platform(infra.consul, infra.kafka.address, workdir) as up,
    ):
        yield up
