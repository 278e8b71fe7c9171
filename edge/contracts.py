"""What the edge knows about each RPC it can reach, read once from the descriptors.

A `Contracts` set is built from service descriptors, each paired with the Consul service that
serves it: the contracts compiled into `gen/` at start-up (package `trademesh.<service>.v1` is
served by the Consul service `<service>`, DESIGN §3), and whatever each running service
reports through server reflection later. Everything downstream (route table, room table,
OpenAPI and AsyncAPI documents) reads only these.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from google.api import http_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from mesh.options import AccessRule, access_of, http_rules_of, room_of, success_code_of


@dataclass(frozen=True, eq=False)
class MethodContract:
    """One RPC as the edge calls it."""

    service: str  # the Consul service that serves it: "trading"
    descriptor: MethodDescriptor
    request_class: type[Message]
    response_class: type[Message]
    access: AccessRule | None  # None: declares no rule, so the edge never calls it
    http_rules: tuple[http_pb2.HttpRule, ...]  # primary binding first; empty when none
    success_code: int  # 200 unless the http_success_code option says otherwise
    room: str  # the Socket.IO room pattern of a server stream, or ""

    @property
    def full_method(self) -> str:
        """`/trademesh.trading.v1.TradingService/PlaceOrder`, as gRPC names it on the wire."""
        return f"/{self.descriptor.containing_service.full_name}/{self.descriptor.name}"

    @property
    def name(self) -> str:
        """`trademesh.trading.v1.TradingService.PlaceOrder`, as errors and documents name it."""
        return self.descriptor.full_name

    @property
    def input(self) -> Descriptor:
        return self.descriptor.input_type

    @property
    def output(self) -> Descriptor:
        return self.descriptor.output_type

    @property
    def client_streaming(self) -> bool:
        return bool(self.descriptor.client_streaming)

    @property
    def server_streaming(self) -> bool:
        return bool(self.descriptor.server_streaming)

    @property
    def reachable(self) -> bool:
        """Whether clients of the edge may call it at all: it declares a rule, and the rule
        does not make it service-only (`callers`)."""
        return self.access is not None and not self.access.callers

    @classmethod
    def read(cls, service: str, method: MethodDescriptor) -> MethodContract:
        return cls(
            service=service,
            descriptor=method,
            request_class=_message_class(method.input_type),
            response_class=_message_class(method.output_type),
            access=access_of(method),
            http_rules=http_rules_of(method),
            success_code=success_code_of(method),
            room=room_of(method),
        )


def _message_class(descriptor: Descriptor) -> type[Message]:
    # For a compiled-in descriptor this is the generated class itself.
    return message_factory.GetMessageClass(descriptor)


@dataclass(frozen=True)
class Contracts:
    """Every RPC the edge knows, by full method name, in a stable order."""

    methods: tuple[MethodContract, ...]

    @classmethod
    def build(cls, services: Iterable[tuple[str, ServiceDescriptor]]) -> Contracts:
        """From (Consul service, descriptor) pairs; a later pair for the same gRPC service
        replaces an earlier one (reflection wins over the compiled-in contract)."""
        by_service: dict[str, tuple[str, ServiceDescriptor]] = {}
        for name, descriptor in services:
            by_service[descriptor.full_name] = (name, descriptor)
        return cls(
            tuple(
                MethodContract.read(name, method)
                for _, (name, descriptor) in sorted(by_service.items())
                for method in descriptor.methods
            )
        )

    def __iter__(self) -> Iterator[MethodContract]:
        return iter(self.methods)

    def __len__(self) -> int:
        return len(self.methods)

    def find(self, full_method: str) -> MethodContract | None:
        for method in self.methods:
            if method.full_method == full_method:
                return method
        return None

    @property
    def services(self) -> tuple[str, ...]:
        """The Consul services these contracts call, sorted."""
        return tuple(sorted({m.service for m in self.methods}))


def compiled_services() -> list[tuple[str, ServiceDescriptor]]:
    """Every trademesh service compiled into `gen/`, each paired with the Consul service of
    its package (`trademesh.trading.v1.TradingService` → `trading`)."""
    import trademesh

    found: list[tuple[str, ServiceDescriptor]] = []
    for module in pkgutil.walk_packages(trademesh.__path__, "trademesh."):
        if module.ispkg or not module.name.endswith("_pb2"):
            continue
        file = importlib.import_module(module.name).DESCRIPTOR
        found.extend(
            (file.package.split(".")[1], service) for service in file.services_by_name.values()
        )
    return found


def compiled_contracts() -> Contracts:
    return Contracts.build(compiled_services())
