"""What a service hands the bootstrap: its servicers, its background workers and what to close
on the way out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from mesh.lifecycle import Lifecycle

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
    # Started in order once the server is serving (outbox relays, consumers, maintenance),
    # stopped in reverse order after the server drained, before on_stop.
    workers: Sequence[Lifecycle] = ()
    # Run once clients stopped picking this instance and the server has ended its open
    # streams (with the draining status), before in-flight calls drain: what a service must
    # let go of besides its streams.
    on_drain: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=tuple)
    # Run in order after the server drained: flush producers, stop consumers, close stores.
    on_stop: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=tuple)
    version: str = "0.1.0"
