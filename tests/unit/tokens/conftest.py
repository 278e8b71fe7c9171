"""Fixtures for the token tests: a hand-driven clock, a config, a key ring and an issuer."""

from __future__ import annotations

import pytest

from mesh.tokens import KeyRing, TokenConfig, TokenIssuer, TokenVerifier

START = 1_750_000_000.0


class FakeClock:
    """A clock the test moves by hand, passed wherever the code takes `now`."""

    def __init__(self, start: float = START) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> TokenConfig:
    return TokenConfig(issuer="https://identity.trademesh.test", audience="trademesh")


@pytest.fixture
def ring(config: TokenConfig, clock: FakeClock) -> KeyRing:
    return KeyRing.generate(retention_seconds=config.key_retention_seconds, now=clock)


@pytest.fixture
def issuer(config: TokenConfig, ring: KeyRing, clock: FakeClock) -> TokenIssuer:
    return TokenIssuer(config, ring, now=clock)


@pytest.fixture
def verifier(config: TokenConfig, ring: KeyRing, clock: FakeClock) -> TokenVerifier:
    return TokenVerifier(ring.jwks(), config, now=clock)
