"""The fault-injection platform, one per test module: faults are injected into it, so no
other suite shares it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests._postgres import PostgresServer
from tests.e2e.resilience._mesh import Mesh, running_mesh


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def mesh(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Mesh]:
    async with running_mesh(postgres, tmp_path_factory.mktemp("resilience")) as up:
        yield up
