"""Fixtures for the identity tests: a hand-driven clock, cheap argon2 settings, an assembled
service on a temp SQLite file, and a log of the events it publishes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from trademesh.identity.v1 import events_pb2

from mesh.context import Principal
from mesh.tokens import TokenConfig
from services.identity import Identity, IdentityConfig, SignedIn, build_identity

START = 1_750_000_000.0
PASSWORD = "correct horse battery"
ADMIN_EMAIL = "root@trademesh.test"
ADMIN_PASSWORD = "admin password 1"


class FakeClock:
    """A clock the test moves by hand, passed wherever the code takes `now`."""

    def __init__(self, start: float = START) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@dataclass
class EventLog:
    events: list[events_pb2.SessionRevoked] = field(default_factory=list)

    async def publish(self, event: events_pb2.SessionRevoked) -> None:
        self.events.append(event)


def fast_config(tmp_path: Path, **changes: object) -> IdentityConfig:
    """Production-shaped settings with argon2 cheap enough for tests."""
    values: dict[str, object] = {
        "sqlite_path": tmp_path / "identity.sqlite3",
        "admin_email": ADMIN_EMAIL,
        "admin_password": ADMIN_PASSWORD,
        "max_failed_logins": 3,
        "lockout_seconds": 60.0,
        "max_lockout_seconds": 600.0,
        "failed_login_reset_seconds": 900.0,
        "password_time_cost": 1,
        "password_memory_kib": 8,
        "password_parallelism": 1,
    }
    values.update(changes)
    return IdentityConfig(**values)  # type: ignore[arg-type]


def principal(signed_in: SignedIn) -> Principal:
    """What the auth interceptor would bind for the holder of these tokens."""
    return Principal(
        user_id=signed_in.user.user_id,
        session_id=signed_in.tokens.session_id,
        roles=frozenset(str(role) for role in signed_in.user.roles),
        token=signed_in.tokens.access_token,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def event_log() -> EventLog:
    return EventLog()


@pytest.fixture
def config(tmp_path: Path) -> IdentityConfig:
    return fast_config(tmp_path)


@pytest.fixture
def tokens() -> TokenConfig:
    return TokenConfig()


@pytest_asyncio.fixture
async def identity(
    config: IdentityConfig, tokens: TokenConfig, clock: FakeClock, event_log: EventLog
) -> AsyncIterator[Identity]:
    async with await build_identity(config, tokens, publish=event_log.publish, now=clock) as built:
        yield built


@pytest_asyncio.fixture
async def admin(identity: Identity) -> SignedIn:
    return await identity.auth.login(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)


async def register(identity: Identity, email: str, name: str = "Someone") -> SignedIn:
    return await identity.auth.register(email=email, password=PASSWORD, display_name=name)
