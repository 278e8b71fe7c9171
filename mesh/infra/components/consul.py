"""The Consul agent: a single server that is its own leader, on loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from mesh.infra import paths
from mesh.infra.components._http import http_get
from mesh.infra.components.base import Component, NotReady
from mesh.infra.config import ConsulConfig
from mesh.infra.process import ProcessSpec
from mesh.infra.provision import tools
from mesh.tls import TlsConfig, ensure_leaf, load_or_create_ca


class Consul(Component):
    name = "consul"
    start_timeout_seconds = 60.0

    def __init__(self, config: ConsulConfig, state_dir: Path) -> None:
        super().__init__()
        self.config = config
        self.state_dir = state_dir
        self.dir = state_dir / "consul"
        self.tls_config = self.dir / "tls.hcl"

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
                f"-config-file={self.tls_config}",
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
        await asyncio.to_thread(self._write_tls_config)

    def _write_tls_config(self) -> None:
        """Give the agent a mesh certificate so its gRPC health checks can pass our mTLS."""
        tls = TlsConfig.for_state_dir(self.state_dir)
        ca = load_or_create_ca(tls)
        ensure_leaf(tls, ca, self.name)
        self.tls_config.write_text(
            "# Written by trademesh: the agent's identity for mTLS health checks.\n"
            "enable_agent_tls_for_checks = true\n"
            "tls {\n"
            "  defaults {\n"
            f'    ca_file   = "{tls.ca_cert_path}"\n'
            f'    cert_file = "{tls.leaf_cert_path(self.name)}"\n'
            f'    key_file  = "{tls.leaf_key_path(self.name)}"\n'
            "    verify_incoming = false\n"
            "    verify_outgoing = false\n"
            "  }\n"
            "}\n"
        )

    async def probe(self) -> None:
        status, body = await http_get(f"{self.address}/v1/status/leader")
        if status != 200 or not json.loads(body or b'""'):
            raise NotReady("no raft leader elected yet")
        status, _ = await http_get(f"{self.address}/v1/catalog/services")
        if status != 200:
            raise NotReady(f"catalog answered HTTP {status}")
