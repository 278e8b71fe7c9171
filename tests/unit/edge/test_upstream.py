"""The upstream caller builds one multicallable per contract: a contract learned again (by
reflection, with message classes of its own) is called with its own classes. The mesh client
is stood in for by a channel recorder: only what the caller asks of it is checked here; real
calls through the mesh client are in tests/e2e/edge."""

from __future__ import annotations

from typing import Any

from edge.contracts import MethodContract, compiled_contracts
from edge.upstream import Upstream


class _Channel:
    def __init__(self) -> None:
        self.built: list[dict[str, Any]] = []

    def unary_unary(self, method: str, **kwargs: Any) -> Any:
        self.built.append({"method": method, **kwargs})
        return lambda request, **call: None


class _Mesh:
    def __init__(self) -> None:
        self.channel = _Channel()

    async def connect(self, service: str) -> _Channel:
        return self.channel


def _get_quote() -> MethodContract:
    found = compiled_contracts().find("/trademesh.marketdata.v1.MarketDataService/GetQuote")
    assert found is not None
    return found


async def test_a_contract_learned_again_gets_a_callable_of_its_own() -> None:
    mesh = _Mesh()
    upstream = Upstream(mesh)  # type: ignore[arg-type]
    first, again = _get_quote(), _get_quote()
    assert first is not again and first.full_method == again.full_method
    await upstream._callable(first)
    await upstream._callable(first)
    assert len(mesh.channel.built) == 1  # reused for the same contract
    await upstream._callable(again)
    assert len(mesh.channel.built) == 2
    built = mesh.channel.built[1]
    assert built["response_deserializer"] == again.response_class.FromString
