"""An edge (REST + Socket.IO in front of the mesh) run as a child process behind nginx."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from mesh.infra.components._http import http_get
from mesh.infra.components.base import Component, NotReady
from mesh.infra.config import ConsulConfig, KafkaConfig
from mesh.infra.process import ProcessSpec


class EdgeProcess(Component):
    start_timeout_seconds = 60.0

    def __init__(
        self,
        index: int,
        port: int,
        consul: ConsulConfig,
        kafka: KafkaConfig,
        state_dir: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`env`: further settings of the process (`TRADEMESH_EDGE_*` and the like)."""
        super().__init__()
        self.name = f"edge{index}"
        self.port = port
        self.consul = consul
        self.kafka = kafka
        self.state_dir = state_dir
        self.dir = state_dir / "edges"
        self.env = dict(env or {})

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spec(self) -> ProcessSpec:
        env = {
            **os.environ,
            "TRADEMESH_STATE_DIR": str(self.state_dir),
            "TRADEMESH_EDGE_NAME": self.name,
            "TRADEMESH_EDGE_PORT": str(self.port),
            "TRADEMESH_CLIENT_CONSUL_ADDRESS": self.consul.http_address,
            "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            **self.env,
        }
        return ProcessSpec(
            name=self.name,
            argv=[sys.executable, "-m", "edge"],
            log_path=self.dir / f"{self.name}.log",
            pid_path=self.dir / f"{self.name}.pid",
            env=env,
            ports=(self.port,),
            stop_grace_seconds=30.0,
        )

    async def probe(self) -> None:
        status, _ = await http_get(f"{self.address}/info")
        if status != 200:
            raise NotReady(f"/info answered HTTP {status}")
