"""Callers that vanish mid-call, on both backends: the servicer test of the same name, run
against SQLite and PostgreSQL with a second connection standing in for another instance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from mesh.store import open_database
from services.portfolio import Portfolio, PortfolioConfig, build_portfolio
from tests.unit.services.portfolio.conftest import (  # noqa: F401 (fixtures)
    FixedQuotes,
    Running,
    quotes,
    running,
    users,
)
from tests.unit.services.portfolio.test_cancellation import vanishing_callers


@pytest_asyncio.fixture
async def service(
    database_url: str | None,
    sqlite_path: Path,
    quotes: FixedQuotes,  # noqa: F811
) -> AsyncIterator[Portfolio]:
    database = open_database(database_url, sqlite_path, name="portfolio")
    built = await build_portfolio(
        PortfolioConfig(sqlite_path=sqlite_path), quotes=quotes, database=database
    )
    try:
        yield built
    finally:
        await built.close()


async def test_vanishing_callers_leave_the_store_usable(
    running: Running,  # noqa: F811
    database_url: str | None,
    sqlite_path: Path,
) -> None:
    other = open_database(database_url, sqlite_path, name="portfolio")
    try:
        await vanishing_callers(running, other)
    finally:
        await other.close()
