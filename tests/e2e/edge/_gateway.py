"""Two edges (`python -m edge`, as `trademesh up` runs them) behind a real nginx, in front of
the end-to-end platform: what a browser, a curl user or a partner reaches."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from mesh.infra import KafkaConfig
from mesh.infra.components.edge import EdgeProcess
from mesh.infra.components.nginx import Nginx
from mesh.infra.config import NginxConfig
from mesh.infra.ports import free_ports
from tests.e2e._platform import Platform


@dataclass
class Gateway:
    nginx: Nginx
    edges: list[EdgeProcess]

    @property
    def url(self) -> str:
        return self.nginx.address

    def edge_url(self, index: int = 0) -> str:
        return self.edges[index].address

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30.0, **kwargs)  # type: ignore[arg-type]

    def logs(self, chars: int = 4000) -> str:
        return "\n".join(
            f"--- {edge.name} ---\n{edge.process.log_tail(60)[-chars:]}" for edge in self.edges
        )


@asynccontextmanager
async def running_gateway(
    platform: Platform,
    state_dir: Path,
    *,
    edges: int = 2,
    rate_per_second: int = 1000,
    burst: int = 2000,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Gateway]:
    """`edges` edge processes on free ports and nginx in front of them, all in `state_dir`
    (certificates from the platform's CA)."""
    ports = free_ports(edges + 1)
    consul = platform.consul.config
    kafka = KafkaConfig(port=int(platform.kafka_address.rsplit(":", 1)[1]))
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "tls").symlink_to(platform.tls_dir, target_is_directory=True)
    processes = [
        EdgeProcess(
            n,
            port,
            consul,
            kafka,
            state_dir,
            # Quick to learn a service's new contract.
            {"TRADEMESH_EDGE_DISCOVERY_REFRESH_SECONDS": "2", **(env or {})},
        )
        for n, port in enumerate(ports[1:], start=1)
    ]
    nginx = Nginx(
        NginxConfig(
            port=ports[0],
            edge_ports=tuple(ports[1:]),
            rate_per_second=rate_per_second,
            burst=burst,
        ),
        state_dir,
    )
    async with AsyncExitStack() as stack:
        for process in processes:
            await stack.enter_async_context(process)
        await stack.enter_async_context(nginx)
        yield Gateway(nginx, processes)
