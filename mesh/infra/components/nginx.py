"""nginx in front of the edges, as our own foreground process with everything in the state dir."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from mesh.infra import paths
from mesh.infra.components._http import http_get
from mesh.infra.components.base import Component, NotReady
from mesh.infra.config import NginxConfig
from mesh.infra.errors import InfraError
from mesh.infra.process import ProcessSpec
from mesh.infra.provision import tools
from mesh.infra.template import render_file

TEMPLATE = "nginx.conf.template"


class Nginx(Component):
    name = "nginx"
    start_timeout_seconds = 20.0

    def __init__(self, config: NginxConfig, state_dir: Path) -> None:
        super().__init__()
        self.config = config
        self.dir = state_dir / "nginx"
        self.conf = self.dir / "nginx.conf"

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    def _base_argv(self) -> list[str]:
        return [
            str(tools.nginx_binary()),
            "-p",
            str(self.dir),
            "-c",
            str(self.conf),
            "-e",
            str(self.dir / "nginx-error.log"),
        ]

    def spec(self) -> ProcessSpec:
        return ProcessSpec(
            name=self.name,
            argv=[*self._base_argv(), "-g", "daemon off;"],
            log_path=self.dir / "nginx-error.log",
            pid_path=self.dir / "supervisor.pid",
            ports=(self.config.port,),
        )

    def render(self) -> Path:
        c = self.config
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=2 fail_timeout=5s;" for port in c.edge_ports
        )
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        render_file(
            paths.repo_root() / "nginx" / TEMPLATE,
            self.conf,
            {
                "prefix": self.dir,
                "log_dir": self.dir,
                "port": c.port,
                "edge_servers": servers,
                "rate_per_second": c.rate_per_second,
                "burst": c.burst,
                "client_max_body_kb": c.client_max_body_kb,
            },
        )
        return self.conf

    async def prepare(self) -> None:
        self.render()
        result = await asyncio.to_thread(
            subprocess.run,
            [*self._base_argv(), "-t", "-q"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise InfraError(f"nginx: configuration {self.conf} is invalid:\n{result.stderr}")

    async def probe(self) -> None:
        status, _ = await http_get(f"{self.address}/nginx/health")
        if status != 200:
            raise NotReady(f"/nginx/health answered HTTP {status}")
