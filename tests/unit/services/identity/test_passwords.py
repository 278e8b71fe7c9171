"""argon2id hashing off the event loop, verification and rehash detection."""

from __future__ import annotations

import threading

import pytest

from services.identity import PasswordHasher


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_kib=8, parallelism=1)


async def test_hash_is_argon2id_and_verifies(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert await hasher.verify(hashed, "correct horse")
    assert not await hasher.verify(hashed, "wrong horse")
    # Same password, new salt.
    assert await hasher.hash("correct horse") != hashed


@pytest.mark.parametrize("stored", ["", "plain text", "$argon2id$garbled"])
async def test_unreadable_hashes_never_match(hasher: PasswordHasher, stored: str) -> None:
    assert not await hasher.verify(stored, "anything")


async def test_needs_rehash_when_parameters_change(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash("pw")
    assert not hasher.needs_rehash(hashed)
    stronger = PasswordHasher(time_cost=2, memory_kib=16, parallelism=1)
    assert stronger.needs_rehash(hashed)
    assert stronger.needs_rehash("not a hash")


async def test_hashing_runs_off_the_event_loop_thread(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    inner = hasher._hasher

    class Recording:
        def hash(self, password: str) -> str:
            threads.append(threading.get_ident())
            return inner.hash(password)

        def verify(self, hashed: str, password: str) -> bool:
            threads.append(threading.get_ident())
            return inner.verify(hashed, password)

    monkeypatch.setattr(hasher, "_hasher", Recording())
    hashed = await hasher.hash("pw")
    await hasher.verify(hashed, "pw")
    await hasher.verify_decoy("pw")
    assert len(threads) == 4
    assert threading.get_ident() not in threads
