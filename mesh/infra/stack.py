"""The local mesh as one unit: Consul, Kafka and nginx, then the services, in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType

from mesh.infra.components.base import Component, Status
from mesh.infra.components.consul import Consul
from mesh.infra.components.edge import EdgeProcess
from mesh.infra.components.kafka import Kafka
from mesh.infra.components.nginx import Nginx
from mesh.infra.components.service import MeshService
from mesh.infra.config import InfraConfig
from mesh.infra.errors import InfraError

# The services `trademesh up` runs, in start order (each after the ones it calls), each as
# `python -m services.<name>`. The n-th (from 1) listens on grpc_base_port + n and serves
# metrics on metrics_base_port + n, so operators can reach them without asking Consul.
SERVICES: tuple[str, ...] = ("identity", "marketdata", "portfolio", "trading", "notification")


class InfraStack:
    def __init__(
        self,
        config: InfraConfig,
        only: Sequence[str] | None = None,
        *,
        services: Sequence[str] = (),
        edges: bool = False,
    ) -> None:
        """`services` to run besides the infrastructure; `edges` adds the edges (after the
        services they call)."""
        self.config = config
        every: list[Component] = [
            Consul(config.consul, config.state_dir),
            Kafka(config.kafka, config.state_dir),
            Nginx(config.nginx, config.state_dir),
            *(
                MeshService(
                    name,
                    config.consul,
                    config.state_dir,
                    config.kafka,
                    config.services.grpc_base_port + n,
                    config.services.metrics_base_port + n,
                )
                for n, name in enumerate(SERVICES, start=1)
                if name in services
            ),
            *(
                EdgeProcess(n, port, config.consul, config.kafka, config.state_dir)
                for n, port in enumerate(config.nginx.edge_ports, start=1)
                if edges
            ),
        ]
        unknown = set(only or ()) - {c.name for c in every}
        if unknown:
            raise InfraError(
                f"unknown component(s) {sorted(unknown)}; known: {[c.name for c in every]}"
            )
        self.components = [c for c in every if not only or c.name in only]
        self._width = max((len(c.name) for c in self.components), default=0)

    def get(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise InfraError(f"no component named {name!r}")

    async def start(self, say: Callable[[str], None] = print) -> None:
        """Start each component in order; on failure stop what this call started, then raise."""
        started: list[Component] = []
        try:
            for component in self.components:
                if await component.start():
                    started.append(component)
                    say(f"✓ {component.name:<{self._width}} started   {component.address}")
                else:
                    say(f"✓ {component.name:<{self._width}} running   {component.address}")
        except BaseException:
            for component in reversed(started):
                await component.stop()
            raise

    async def stop(self, say: Callable[[str], None] = print) -> None:
        for component in reversed(self.components):
            was_running = await component.stop()
            say(f"✓ {component.name:<{self._width}} {'stopped' if was_running else 'not running'}")

    async def status(self) -> list[Status]:
        return [await c.status() for c in self.components]

    async def __aenter__(self) -> InfraStack:
        await self.start(say=lambda _: None)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop(say=lambda _: None)
