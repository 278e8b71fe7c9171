"""Signing key rotation: old tokens stay valid until they expire, instances share the ring."""

from __future__ import annotations

from pathlib import Path

import jwt

from mesh.tokens import TokenConfig
from services.identity import Identity, build_identity
from tests.unit.services.identity.conftest import FakeClock, fast_config, register


def read_kid(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def kids(identity: Identity) -> list[str]:
    return [key["kid"] for key in identity.keys.jwks()["keys"]]


async def test_rotation_keeps_old_tokens_valid_until_they_expire(
    identity: Identity, clock: FakeClock, tokens: TokenConfig
) -> None:
    ada = await register(identity, "ada@example.com")
    old_kid = identity.keys.ring.current.kid
    assert read_kid(ada.tokens.access_token) == old_kid

    clock.advance(60)
    new_kid = await identity.rotate_keys()
    assert new_kid != old_kid
    assert kids(identity) == [new_kid, old_kid]

    # Tokens signed before the rotation still validate and refresh.
    assert (await identity.auth.validate(ada.tokens.access_token)).valid
    refreshed = await identity.auth.refresh(ada.tokens.refresh_token)
    assert read_kid(refreshed.access_token) == new_kid

    # Once every token the old key signed has expired, the key is no longer published.
    clock.advance(tokens.key_retention_seconds)
    assert kids(identity) == [new_kid]
    assert (await identity.auth.validate(refreshed.access_token)).reason == "expired"


async def test_the_ring_survives_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    config = fast_config(tmp_path)
    async with await build_identity(config, now=clock) as first:
        ada = await register(first, "ada@example.com")
        kid = await first.rotate_keys()
    async with await build_identity(config, now=clock) as second:
        assert second.keys.ring.current.kid == kid
        assert (await second.auth.validate(ada.tokens.access_token)).valid


async def test_instances_pick_up_each_others_rotation(tmp_path: Path, clock: FakeClock) -> None:
    config = fast_config(tmp_path)
    async with (
        await build_identity(config, now=clock) as one,
        await build_identity(config, now=clock) as two,
    ):
        assert one.keys.ring.current.kid == two.keys.ring.current.kid
        new_kid = await one.rotate_keys()
        ada = await register(one, "ada@example.com")
        assert read_kid(ada.tokens.access_token) == new_kid
        # `two` has never seen the new key; meeting it makes it reload the ring.
        assert (await two.auth.validate(ada.tokens.access_token)).valid
        assert two.keys.ring.current.kid == new_kid


async def test_concurrent_rotations_rotate_once(tmp_path: Path, clock: FakeClock) -> None:
    config = fast_config(tmp_path)
    async with (
        await build_identity(config, now=clock) as one,
        await build_identity(config, now=clock) as two,
    ):
        before = one.keys.ring.current.kid
        await one.keys.rotate()
        # `two` still holds the old ring; its rotation starts from the stored one.
        await two.keys.rotate()
        assert len(kids(two)) == 3
        assert before in kids(two)
