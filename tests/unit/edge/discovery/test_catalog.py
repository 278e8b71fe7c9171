"""The contract catalog's rules, with Consul's view given directly and services reached on
real plaintext grpc.aio servers (Consul and the mTLS mesh client run in the integration
tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection
from trademesh.notification.v1 import notification_pb2

from edge.contracts import Contracts, compiled_services
from edge.discovery import ContractCatalog, DiscoveryConfig, MeshService
from mesh.infra.ports import free_ports
from tests.conftest import eventually
from tests.unit.edge.discovery._probe import (
    GET_PROBE,
    LIST_PROBES,
    SERVICE,
    V1,
    SilentReflection,
    install_probe,
    private_pool,
    probe_file,
    reflection_handler,
    serving,
)

NOTIFICATIONS = "trademesh.notification.v1.NotificationService"
LIST_NOTIFICATIONS = f"/{NOTIFICATIONS}/ListNotifications"


class Channels:
    """Connects each service name to the address the test gives it (the mesh client's role)."""

    def __init__(self) -> None:
        self.addresses: dict[str, str] = {}
        self.asked: list[str] = []
        self._open: list[grpc.aio.Channel] = []

    async def connect(self, service: str) -> grpc.aio.Channel:
        self.asked.append(service)
        channel = grpc.aio.insecure_channel(self.addresses[service])
        self._open.append(channel)
        return channel

    async def close(self) -> None:
        for channel in self._open:
            await channel.close()


@pytest.fixture
async def channels() -> AsyncIterator[Channels]:
    found = Channels()
    yield found
    await found.close()


def _healthy(*names: str) -> dict[str, MeshService]:
    return {n: MeshService(n, frozenset({(f"{n}-1", "passing")})) for n in names}


def _catalog(channels: Channels, **config: float) -> ContractCatalog:
    return ContractCatalog(channels, DiscoveryConfig(**config), consul_address="http://127.0.0.1:1")


@contextlib.asynccontextmanager
async def _probe(*methods: str, label: str = "p") -> AsyncIterator[str]:
    server = grpc.aio.server()
    install_probe(server, private_pool(probe_file(*methods)), label)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


def _notifications_with_extra() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    notification_pb2.DESCRIPTOR.CopyToProto(proto)
    extra = proto.service[0].method.add()
    extra.CopyFrom(proto.service[0].method[0])
    extra.name = "Extra"
    return proto


@contextlib.asynccontextmanager
async def _notifications(extra: bool = True) -> AsyncIterator[str]:
    """Reflection only, of the notification contract, with one more method or as compiled."""
    proto = _notifications_with_extra()
    if not extra:
        del proto.service[0].method[-1]
    pool = private_pool(proto)
    servicer = reflection.aio.ReflectionServicer([NOTIFICATIONS], pool=pool)
    async with serving(reflection_handler(servicer, V1)) as address:
        yield address


def _methods(contracts: Contracts, service: str) -> set[str]:
    return {m.descriptor.name for m in contracts if m.service == service}


async def test_starts_with_the_compiled_contracts(channels: Channels) -> None:
    catalog = _catalog(channels)
    assert len(catalog.current) == len(Contracts.build(compiled_services()))
    assert catalog.current.find(LIST_NOTIFICATIONS) is not None


async def test_a_new_service_appears_and_listeners_hear_only_of_changes(
    channels: Channels,
) -> None:
    catalog = _catalog(channels)
    heard: list[Contracts] = []
    unsubscribe = catalog.subscribe(heard.append)
    async with _probe(GET_PROBE) as address:
        channels.addresses["probe"] = address
        catalog.observe(_healthy("probe"))
        assert await catalog.refresh() is True
        assert await catalog.refresh() is False
    method = catalog.current.find(f"/{SERVICE}/{GET_PROBE}")
    assert method is not None and method.service == "probe"
    assert [r.get for r in method.http_rules] == ["/api/v1/probe/{name}"]
    assert heard == [catalog.current]

    async with _probe(GET_PROBE, LIST_PROBES) as address:
        channels.addresses["probe"] = address
        assert await catalog.refresh(["probe"]) is True
    assert _methods(catalog.current, "probe") == {GET_PROBE, LIST_PROBES}
    assert len(heard) == 2

    unsubscribe()
    async with _probe(GET_PROBE) as address:
        channels.addresses["probe"] = address
        assert await catalog.refresh() is True
    assert _methods(catalog.current, "probe") == {GET_PROBE}
    assert len(heard) == 2


async def test_a_services_reflected_contract_replaces_its_compiled_one(
    channels: Channels,
) -> None:
    catalog = _catalog(channels)
    compiled = _methods(catalog.current, "notification")
    async with _notifications() as address:
        channels.addresses["notification"] = address
        catalog.observe(_healthy("notification"))
        await catalog.refresh()
    assert _methods(catalog.current, "notification") == {*compiled, "Extra"}
    assert catalog.current.find(LIST_NOTIFICATIONS) is not None
    assert catalog.current.find("/trademesh.trading.v1.TradingService/PlaceOrder") is not None


async def test_a_service_reflecting_what_is_compiled_in_changes_nothing(
    channels: Channels,
) -> None:
    catalog = _catalog(channels)
    before = catalog.current
    heard: list[Contracts] = []
    catalog.subscribe(heard.append)
    async with _notifications(extra=False) as address:
        channels.addresses["notification"] = address
        catalog.observe(_healthy("notification"))
        assert await catalog.refresh() is False
    assert catalog.problems == {}
    assert channels.asked == ["notification"]
    assert heard == []
    assert catalog.current is before


async def test_another_service_serving_a_compiled_contract_does_not_take_it_over(
    channels: Channels,
) -> None:
    catalog = _catalog(channels)
    before = catalog.current
    async with _notifications() as address:
        channels.addresses["probe-copy"] = address
        catalog.observe(_healthy("probe-copy"))
        assert await catalog.refresh() is False
    assert catalog.current is before
    listing = catalog.current.find(LIST_NOTIFICATIONS)
    assert listing is not None and listing.service == "notification"
    assert catalog.current.find(f"/{NOTIFICATIONS}/Extra") is None
    assert "probe-copy" not in catalog.current.services


async def test_an_unreachable_service_keeps_its_compiled_contract_and_is_logged_once(
    channels: Channels, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = _catalog(channels)
    before = catalog.current
    (closed,) = free_ports(1)
    channels.addresses["notification"] = f"127.0.0.1:{closed}"
    catalog.observe(_healthy("notification"))
    with caplog.at_level(logging.INFO, logger="edge.discovery.catalog"):
        assert await catalog.refresh() is False
        assert await catalog.refresh() is False
        warnings = [r for r in caplog.records if "cannot read its contracts" in r.message]
        assert len(warnings) == 1 and "UNAVAILABLE" in warnings[0].message
        async with _notifications() as address:
            channels.addresses["notification"] = address
            assert await catalog.refresh() is True
        assert any("readable by reflection again" in r.message for r in caplog.records)
    assert catalog.current is not before
    assert channels.asked.count("notification") == 3


async def test_the_last_known_contract_stays_while_registered_and_goes_with_the_service(
    channels: Channels,
) -> None:
    catalog = _catalog(channels)
    async with _probe(GET_PROBE) as address:
        channels.addresses["probe"] = address
        catalog.observe(_healthy("probe"))
        await catalog.refresh()
    assert await catalog.refresh() is False  # its server is gone; it is still registered
    assert _methods(catalog.current, "probe") == {GET_PROBE}

    catalog.observe({"probe": MeshService("probe", frozenset({("probe-1", "critical")}))})
    asked = len(channels.asked)
    assert await catalog.refresh() is False
    assert len(channels.asked) == asked  # no healthy instance: not even tried
    assert _methods(catalog.current, "probe") == {GET_PROBE}

    catalog.observe({})
    assert await catalog.refresh() is True
    assert _methods(catalog.current, "probe") == set()
    assert catalog.current.find(LIST_NOTIFICATIONS) is not None


async def test_a_silent_service_does_not_hold_up_the_others(channels: Channels) -> None:
    catalog = _catalog(channels, fetch_timeout_seconds=0.5)
    silent = SilentReflection()
    async with (
        serving(reflection_handler(silent)) as quiet,
        _probe(GET_PROBE) as address,
    ):
        channels.addresses.update(quiet=quiet, probe=address)
        catalog.observe(_healthy("quiet", "probe"))
        assert await catalog.refresh() is True
        await asyncio.wait_for(silent.ended.wait(), 10)
    assert _methods(catalog.current, "probe") == {GET_PROBE}
    assert "quiet" not in catalog.current.services


async def test_cancelling_a_refresh_cancels_its_calls_and_changes_nothing(
    channels: Channels,
) -> None:
    catalog = _catalog(channels, fetch_timeout_seconds=60)
    before = catalog.current
    silent = SilentReflection()
    async with serving(reflection_handler(silent)) as quiet:
        channels.addresses["quiet"] = quiet
        catalog.observe(_healthy("quiet"))
        refreshing = asyncio.create_task(catalog.refresh())
        await asyncio.wait_for(silent.started.wait(), 10)
        refreshing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await refreshing
        await asyncio.wait_for(silent.ended.wait(), 10)
    assert catalog.current is before
    async with _probe(GET_PROBE) as address:
        channels.addresses["quiet"] = address
        assert await asyncio.wait_for(catalog.refresh(), 10) is True
    assert _methods(catalog.current, "quiet") == {GET_PROBE}


async def test_a_failing_listener_does_not_stop_the_others(channels: Channels) -> None:
    catalog = _catalog(channels)
    heard: list[Contracts] = []

    def broken(_: Contracts) -> None:
        raise RuntimeError("listener bug")

    catalog.subscribe(broken)
    catalog.subscribe(heard.append)
    async with _probe(GET_PROBE) as address:
        channels.addresses["probe"] = address
        catalog.observe(_healthy("probe"))
        await catalog.refresh()
    assert heard == [catalog.current]


async def test_disabled_it_keeps_the_compiled_contracts_and_starts_nothing(
    channels: Channels,
) -> None:
    catalog = ContractCatalog(
        channels, DiscoveryConfig(enabled=False), consul_address="http://127.0.0.1:1"
    )
    async with catalog:
        await catalog.start()
        assert catalog.current.find(LIST_NOTIFICATIONS) is not None
    await catalog.stop()
    assert channels.asked == []


async def test_stop_during_a_fetch_cancels_it_at_once(channels: Channels) -> None:
    (closed,) = free_ports(1)  # no Consul: what it would report is given by observe()
    catalog = ContractCatalog(
        channels,
        DiscoveryConfig(fetch_timeout_seconds=60, refresh_seconds=600),
        consul_address=f"http://127.0.0.1:{closed}",
    )
    silent = SilentReflection()
    async with serving(reflection_handler(silent)) as quiet:
        channels.addresses["quiet"] = quiet
        await catalog.start()
        await catalog.start()
        catalog.observe(_healthy("quiet"))
        await asyncio.wait_for(silent.started.wait(), 10)
        await asyncio.wait_for(catalog.stop(), 10)
        await asyncio.wait_for(silent.ended.wait(), 10)
        await catalog.stop()
    assert "quiet" not in catalog.current.services


async def test_changes_observed_while_running_are_fetched_without_waiting_for_the_timer(
    channels: Channels,
) -> None:
    (closed,) = free_ports(1)
    catalog = ContractCatalog(
        channels, DiscoveryConfig(refresh_seconds=600), consul_address=f"http://127.0.0.1:{closed}"
    )
    async with _probe(GET_PROBE) as address, catalog:
        channels.addresses["probe"] = address
        catalog.observe(_healthy("probe"))

        async def served() -> bool:
            return _methods(catalog.current, "probe") == {GET_PROBE}

        await eventually(served, timeout=10, what="the observed service's contract")


async def test_a_failed_fetch_is_tried_again_soon_without_waiting_for_the_timer(
    channels: Channels,
) -> None:
    (closed, no_consul) = free_ports(2)
    catalog = ContractCatalog(
        channels,
        DiscoveryConfig(refresh_seconds=600),
        consul_address=f"http://127.0.0.1:{no_consul}",
    )
    channels.addresses["probe"] = f"127.0.0.1:{closed}"
    async with catalog, _probe(GET_PROBE) as address:
        catalog.observe(_healthy("probe"))

        async def refused() -> bool:
            return "probe" in catalog.problems

        await eventually(refused, timeout=10, what="the first fetch refused")
        channels.addresses["probe"] = address

        async def served() -> bool:
            return _methods(catalog.current, "probe") == {GET_PROBE}

        await eventually(served, timeout=10, what="the service's contract on a retry")
    assert catalog.problems == {}
