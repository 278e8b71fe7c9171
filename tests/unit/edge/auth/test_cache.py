"""VerifiedTokens: bounded, least recently used first out, expiring, forgetting by session."""

from __future__ import annotations

import pytest

from edge.auth.cache import VerifiedTokens
from mesh.context import Principal


def principal(token: str, session_id: str = "s") -> Principal:
    return Principal(user_id="u", session_id=session_id, roles=frozenset(), token=token)


def test_an_entry_answers_until_it_is_no_longer_valid() -> None:
    cache = VerifiedTokens(10)
    cache.put(principal("a"), valid_until=100.0)
    assert cache.get("a", 99.9) == principal("a")
    assert cache.get("a", 100.0) is None
    assert len(cache) == 0


def test_it_never_holds_more_than_its_bound() -> None:
    cache = VerifiedTokens(3)
    for index in range(10):
        cache.put(principal(f"t{index}", f"s{index}"), valid_until=100.0)
        assert len(cache) <= 3
    assert [cache.get(f"t{i}", 0.0) is not None for i in range(10)] == [False] * 7 + [True] * 3
    # Evicted tokens leave the session index too.
    assert cache.forget_session("s0") == 0
    assert cache.forget_session("s9") == 1


def test_forgetting_a_session_drops_all_its_tokens_and_only_those() -> None:
    cache = VerifiedTokens(10)
    cache.put(principal("a", "s1"), 100.0)
    cache.put(principal("b", "s1"), 100.0)
    cache.put(principal("c", "s2"), 100.0)
    assert cache.forget_session("s1") == 2
    assert cache.get("a", 0.0) is None and cache.get("b", 0.0) is None
    assert cache.get("c", 0.0) is not None


def test_putting_a_token_again_replaces_its_entry() -> None:
    cache = VerifiedTokens(10)
    cache.put(principal("a", "s1"), 50.0)
    cache.put(principal("a", "s1"), 100.0)
    assert len(cache) == 1
    assert cache.get("a", 75.0) is not None
    assert cache.forget_session("s1") == 1


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        VerifiedTokens(0)
