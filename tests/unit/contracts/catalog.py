"""The contracts as the generated Python modules describe them, for the contract tests."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass

import trademesh
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FileDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)
from google.protobuf.message import Message
from trademesh.options.v1 import options_pb2

DOMAINS = ("identity", "marketdata", "trading", "portfolio", "notification")

SERVICES = {
    "trademesh.identity.v1.IdentityService",
    "trademesh.marketdata.v1.MarketDataService",
    "trademesh.trading.v1.TradingService",
    "trademesh.portfolio.v1.PortfolioService",
    "trademesh.notification.v1.NotificationService",
}


def generated_modules() -> list[str]:
    """Every ``*_pb2`` module under the trademesh package, imported."""
    names = [
        info.name
        for info in pkgutil.walk_packages(trademesh.__path__, prefix="trademesh.")
        if info.name.endswith("_pb2")
    ]
    for name in names:
        importlib.import_module(name)
    return sorted(names)


def files() -> list[FileDescriptor]:
    return [importlib.import_module(name).DESCRIPTOR for name in generated_modules()]


def services() -> list[ServiceDescriptor]:
    return [service for file in files() for service in file.services_by_name.values()]


@dataclass(frozen=True)
class Rpc:
    method: MethodDescriptor

    @property
    def name(self) -> str:
        return str(self.method.full_name)

    @property
    def short(self) -> str:
        return str(self.method.name)

    @property
    def options(self) -> descriptor_pb2.MethodOptions:
        options: descriptor_pb2.MethodOptions = self.method.GetOptions()
        return options

    @property
    def streaming(self) -> bool:
        return bool(self.method.server_streaming or self.method.client_streaming)

    @property
    def access(self) -> options_pb2.Access | None:
        if not self.options.HasExtension(options_pb2.access):
            return None
        return self.options.Extensions[options_pb2.access]

    @property
    def http(self) -> http_pb2.HttpRule | None:
        if not self.options.HasExtension(annotations_pb2.http):
            return None
        return self.options.Extensions[annotations_pb2.http]

    @property
    def room(self) -> str:
        return str(self.options.Extensions[options_pb2.room])

    @property
    def success_code(self) -> int:
        return int(self.options.Extensions[options_pb2.http_success_code])

    @property
    def service_only(self) -> bool:
        access = self.access
        return access is not None and len(access.callers) > 0


def rpcs() -> list[Rpc]:
    return [Rpc(method) for service in services() for method in service.methods]


def rpc(name: str) -> Rpc:
    for candidate in rpcs():
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def _nested(message: Descriptor) -> Iterator[Descriptor]:
    yield message
    for nested in message.nested_types:
        yield from _nested(nested)


def messages() -> list[Descriptor]:
    return [
        found
        for file in files()
        for message in file.message_types_by_name.values()
        for found in _nested(message)
    ]


def enums() -> list[EnumDescriptor]:
    top = [enum for file in files() for enum in file.enum_types_by_name.values()]
    nested = [enum for message in messages() for enum in message.enum_types]
    return [*top, *nested]


def message_class(full_name: str) -> type[Message]:
    """The generated class of a message, by full name."""
    generated_modules()
    return message_factory.GetMessageClass(
        descriptor_pool.Default().FindMessageTypeByName(full_name)
    )
