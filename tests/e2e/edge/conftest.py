"""The edge's end-to-end fixtures: two edges and nginx in front of the shared platform."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.e2e._platform import Platform
from tests.e2e.edge._gateway import Gateway, running_gateway


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def gateway(
    platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gateway]:
    async with running_gateway(platform, tmp_path_factory.mktemp("gateway")) as up:
        yield up
