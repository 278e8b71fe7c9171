"""What a service hands the bootstrap: its servicers and what to close on the way out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

AddToServer = Callable[[Any, grpc.aio.Server], None]


@dataclass(frozen=True)
class Servicer:
    add_to_server: AddToServer  # the generated add_XServicer_to_server
    implementation: Any
    full_name: str  # e.g. "trademesh.identity.v1.IdentityService"


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # the mesh name, e.g. "identity"
    servicers: Sequence[Servicer]
    interceptors: Sequence[grpc.aio.ServerInterceptor] = ()
    # Run in order after the server drained: flush producers, stop consumers, close stores.
    on_stop: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=tuple)
    version: str = "0.1.0"
