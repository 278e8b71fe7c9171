"""retry_safe_of and compiled_method: which compiled-in methods the mesh client may send
again, found by their gRPC path; and the same answer for a descriptor from another pool (a
contract learned by reflection)."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool

from mesh.options import compiled_method, retry_safe_of
from tests.unit.contracts import catalog

MARKETDATA = "/trademesh.marketdata.v1.MarketDataService"
Options = descriptor_pb2.MethodOptions


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    catalog.generated_modules()  # every contract imported into the default pool


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        (f"{MARKETDATA}/GetQuote", True),  # NO_SIDE_EFFECTS
        (f"{MARKETDATA}/StreamQuotes", True),  # NO_SIDE_EFFECTS, a server stream
        ("/trademesh.trading.v1.TradingService/PlaceOrder", True),  # IDEMPOTENT
        ("/trademesh.identity.v1.IdentityService/Register", False),  # no level declared
        ("/trademesh.identity.v1.IdentityService/Login", False),
    ],
)
def test_retry_safe_of_compiled_methods(path: str, safe: bool) -> None:
    method = compiled_method(path)
    assert method is not None
    assert method.full_name == path.lstrip("/").replace("/", ".")
    assert retry_safe_of(method) is safe


def test_retry_safe_agrees_with_every_declared_level() -> None:
    rpcs = catalog.rpcs()
    assert len(rpcs) > 20
    for rpc in rpcs:
        level = rpc.options.idempotency_level
        expected = level in (Options.NO_SIDE_EFFECTS, Options.IDEMPOTENT)
        assert retry_safe_of(rpc.method) is expected, rpc.name
        service = rpc.method.containing_service.full_name
        assert compiled_method(f"/{service}/{rpc.short}") is rpc.method


def test_compiled_method_without_the_leading_slash() -> None:
    assert compiled_method("trademesh.marketdata.v1.MarketDataService/GetQuote") is not None


@pytest.mark.parametrize(
    "path",
    [
        "/trademesh.nowhere.v1.NoService/GetQuote",
        f"{MARKETDATA}/NoSuchMethod",
        MARKETDATA,
        "",
        "/",
    ],
)
def test_compiled_method_unknown(path: str) -> None:
    assert compiled_method(path) is None


def test_retry_safe_of_a_descriptor_from_another_pool() -> None:
    levels = {
        "Unknown": None,
        "Read": Options.NO_SIDE_EFFECTS,
        "Put": Options.IDEMPOTENT,
        "Explicit": Options.IDEMPOTENCY_UNKNOWN,
    }
    file = descriptor_pb2.FileDescriptorProto(name="probe/retry.proto", package="probe.v1")
    file.message_type.add(name="Empty")
    service = file.service.add(name="Probe")
    for name, level in levels.items():
        method = service.method.add(
            name=name, input_type=".probe.v1.Empty", output_type=".probe.v1.Empty"
        )
        if level is not None:
            method.options.idempotency_level = level
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    found = pool.FindServiceByName("probe.v1.Probe").methods_by_name
    assert {name: retry_safe_of(found[name]) for name in levels} == {
        "Unknown": False,
        "Read": True,
        "Put": True,
        "Explicit": False,
    }
    assert compiled_method("/probe.v1.Probe/Read") is None  # not compiled in
