"""A mesh service (identity, trading, ...) run as a child process, ready once Consul says so."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mesh.discovery import ConsulClient, ConsulError, Instance
from mesh.infra.components.base import Component, NotReady
from mesh.infra.config import ConsulConfig, KafkaConfig
from mesh.infra.process import ProcessSpec


class MeshService(Component):
    start_timeout_seconds = 60.0

    def __init__(
        self,
        name: str,
        consul: ConsulConfig,
        state_dir: Path,
        kafka: KafkaConfig | None = None,
        port: int = 0,
        metrics_port: int = 0,
    ) -> None:
        super().__init__()
        self.name = name
        self.port = port
        self.metrics_port = metrics_port
        self.consul = consul
        self.kafka = kafka or KafkaConfig()
        self.state_dir = state_dir
        self.dir = state_dir / "services"
        self._instance: Instance | None = None

    @property
    def address(self) -> str:
        return self._instance.address if self._instance else "(not registered)"

    def spec(self) -> ProcessSpec:
        env = {
            **os.environ,
            "TRADEMESH_STATE_DIR": str(self.state_dir),
            "TRADEMESH_SERVER_CONSUL_ADDRESS": self.consul.http_address,
            "TRADEMESH_CLIENT_CONSUL_ADDRESS": self.consul.http_address,
            "TRADEMESH_SERVER_PORT": str(self.port),
            "TRADEMESH_SERVER_METRICS_PORT": str(self.metrics_port),
            "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
        }
        return ProcessSpec(
            name=self.name,
            argv=[sys.executable, "-m", f"services.{self.name}"],
            log_path=self.dir / f"{self.name}.log",
            pid_path=self.dir / f"{self.name}.pid",
            env=env,
            ports=tuple(p for p in (self.port, self.metrics_port) if p),
            stop_grace_seconds=30.0,
        )

    async def probe(self) -> None:
        pid = self.process.pid()
        try:
            async with ConsulClient(self.consul.http_address) as consul:
                _, instances = await consul.healthy(self.name)
        except ConsulError as exc:
            raise NotReady(f"cannot ask Consul: {exc}") from None
        ours = [i for i in instances if i.meta.get("pid") == str(pid)]
        if not ours:
            raise NotReady("not registered and passing in Consul yet")
        self._instance = ours[0]
