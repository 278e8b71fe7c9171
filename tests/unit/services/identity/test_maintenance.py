"""identity's own maintenance: key rotation when the current key is due, retired keys kept in
the JWKS until their tokens expire, expired sessions pruned, once across instances."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mesh.tokens import TokenConfig
from services.identity import build_identity
from services.identity.app import Identity
from tests.unit.services.identity.conftest import FakeClock, fast_config, register

DAY = 86400.0


async def test_a_due_key_is_rotated_and_the_old_one_stays_published(
    identity: Identity, clock: FakeClock
) -> None:
    first = identity.keys.ring.current.kid
    ada = await register(identity, "ada@example.com")
    await identity.maintain()
    assert identity.keys.ring.current.kid == first  # not due yet

    clock.advance(identity.config.key_rotation_interval_seconds)
    await identity.maintain()
    current = identity.keys.ring.current.kid
    assert current != first
    published = {key["kid"] for key in identity.keys.jwks()["keys"]}
    assert {first, current} <= published

    # The retired key outlives the tokens it signed, then leaves the JWKS.
    clock.advance(TokenConfig().key_retention_seconds + 1)
    await identity.maintain()
    assert first not in {key["kid"] for key in identity.keys.jwks()["keys"]}
    # Sessions that expired long ago were pruned by the same rounds.
    assert await identity.store.get_session(ada.tokens.session_id) is None


async def test_instances_sharing_a_store_rotate_once(tmp_path: Path, clock: FakeClock) -> None:
    config = fast_config(tmp_path)
    async with (
        await build_identity(config, now=clock) as one,
        await build_identity(config, now=clock) as two,
    ):
        clock.advance(config.key_rotation_interval_seconds)
        await asyncio.gather(one.maintain(), two.maintain())
        await one.keys.reload()
        await two.keys.reload()
        assert one.keys.ring.current.kid == two.keys.ring.current.kid
        assert len(one.keys.jwks()["keys"]) == 2


async def test_maintenance_runs_in_the_service_process(identity: Identity) -> None:
    spec = identity.service_spec()
    assert [worker.name for worker in spec.workers] == ["identity maintenance"]  # type: ignore[attr-defined]
