"""The Consul agent: a single server that is its own leader, on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from mesh.infra import paths
from mesh.infra.components._http import http_get
from mesh.infra.components.base import Component, NotReady
from mesh.infra.config import ConsulConfig
from mesh.infra.process import ProcessSpec
from mesh.infra.provision import tools


class Consul(Component):
    name = "consul"
    start_timeout_seconds = 60.0

    def __init__(self, config: ConsulConfig, state_dir: Path) -> None:
        super().__init__()
        self.config = config
        self.dir = state_dir / "consul"

    @property
    def address(self) -> str:
        return self.config.http_address

    def spec(self) -> ProcessSpec:
        c = self.config
        return ProcessSpec(
            name=self.name,
            argv=[
                str(tools.consul_binary()),
                "agent",
                f"-config-file={paths.repo_root() / 'consul' / 'agent.hcl'}",
                f"-data-dir={self.dir / 'data'}",
                "-node=trademesh",
                f"-datacenter={c.datacenter}",
                f"-http-port={c.http_port}",
                f"-serf-lan-port={c.serf_lan_port}",
                f"-server-port={c.server_port}",
            ],
            log_path=self.dir / "consul.log",
            pid_path=self.dir / "consul.pid",
            ports=(c.http_port, c.serf_lan_port, c.server_port),
        )

    async def prepare(self) -> None:
        (self.dir / "data").mkdir(parents=True, exist_ok=True)

    async def probe(self) -> None:
        status, body = await http_get(f"{self.address}/v1/status/leader")
        if status != 200 or not json.loads(body or b'""'):
            raise NotReady("no raft leader elected yet")
        status, _ = await http_get(f"{self.address}/v1/catalog/services")
        if status != 200:
            raise NotReady(f"catalog answered HTTP {status}")
