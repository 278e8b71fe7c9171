"""The per-call context: `bind` sets fields for a block, keeps the others, and always restores."""

from __future__ import annotations

import asyncio

import pytest

from mesh import context as call_context
from mesh.context import CallContext, Principal

_PRINCIPAL = Principal(user_id="u", session_id="s", roles=frozenset({"trader"}), token="t")


def test_bind_sets_fields_keeps_the_rest_and_restores_on_exit() -> None:
    with call_context.bind(correlation_id="c-1", method="/p.S/M", deadline=5.0) as outer:
        assert call_context.current() is outer
        with call_context.bind(principal=_PRINCIPAL, caller_service="trading") as inner:
            assert call_context.current() is inner
            assert inner == CallContext("c-1", "/p.S/M", "trading", _PRINCIPAL, 5.0)
            assert inner.remaining_seconds() is not None
        assert call_context.current() is outer
        assert outer == CallContext(correlation_id="c-1", method="/p.S/M", deadline=5.0)
    assert call_context.current() == CallContext()


def test_bind_restores_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), call_context.bind(correlation_id="c-2"):
        raise RuntimeError("boom")
    assert call_context.current().correlation_id == ""


def test_bind_refuses_an_unknown_field_and_changes_nothing() -> None:
    with call_context.bind(correlation_id="c-3"):
        with pytest.raises(TypeError, match="colour"), call_context.bind(colour="red"):
            pass
        assert call_context.current() == CallContext(correlation_id="c-3")


def test_a_bound_context_is_frozen() -> None:
    with call_context.bind(correlation_id="c-4") as bound:
        with pytest.raises(AttributeError):
            bound.correlation_id = "other"  # type: ignore[misc]


async def test_tasks_see_the_context_they_were_started_in_and_not_each_others() -> None:
    async def in_task(correlation_id: str) -> tuple[str, str]:
        before = call_context.current().correlation_id
        with call_context.bind(correlation_id=correlation_id):
            await asyncio.sleep(0)
            return before, call_context.current().correlation_id

    with call_context.bind(correlation_id="parent"):
        results = await asyncio.gather(in_task("a"), in_task("b"))
        assert call_context.current().correlation_id == "parent"

    assert results == [("parent", "a"), ("parent", "b")]
