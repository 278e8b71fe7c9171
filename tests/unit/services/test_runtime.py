"""The start-up step every calling service shares: identity's signing keys are fetched before
the instance registers, and identity being away does not stop the start."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mesh.tokens.cache import JwksCache
from mesh.tokens.jwks import public_jwk
from services.runtime import SigningKeysWarmup


async def test_the_keys_are_loaded_before_the_first_call() -> None:
    fetched: list[int] = []
    key = public_jwk(Ed25519PrivateKey.generate().public_key(), "k1")

    async def fetch() -> Mapping[str, Any]:
        fetched.append(1)
        return {"keys": [key]}

    jwks = JwksCache(fetch)
    await SigningKeysWarmup(jwks).start()
    assert fetched == [1]
    await jwks.get_key("k1")  # answered from the keys fetched at start
    assert fetched == [1]


async def test_identity_away_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def fetch() -> Mapping[str, Any]:
        raise ConnectionError("identity is not there")

    with caplog.at_level(logging.WARNING):
        await SigningKeysWarmup(JwksCache(fetch)).start()
    assert "signing keys are not loaded yet" in caplog.text
