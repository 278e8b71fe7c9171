"""Run a mesh service as production does (`python -m services.<name>`, mTLS, registered in the
real Consul) and wait until its own instance passes its gRPC health check there; or run one
that is expected to stop by itself (bad configuration) and collect its exit code and output;
or call one with grpcurl, as an operator does."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from mesh.discovery import ConsulClient
from mesh.infra import Consul
from mesh.infra.provision import tools
from mesh.tls import TlsConfig, load_service_credentials
from tests.conftest import eventually


@dataclass
class ServiceProcess:
    name: str
    proc: asyncio.subprocess.Process
    log_path: Path
    tls_dir: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the process (SIGTERM drains; SIGKILL is a crash) and wait for its exit code."""
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), timeout)


def service_env(consul: Consul, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a service process: this one's, pointed at `consul` and its state
    directory, with quick health checks and drain, without DATABASE_URL, then `extra`."""
    env = {
        **os.environ,
        "TRADEMESH_STATE_DIR": str(consul.state_dir),
        "TRADEMESH_SERVER_CONSUL_ADDRESS": consul.address,
        "TRADEMESH_CLIENT_CONSUL_ADDRESS": consul.address,
        "TRADEMESH_SERVER_CHECK_INTERVAL_SECONDS": "0.5",
        "TRADEMESH_SERVER_SHUTDOWN_DELAY_SECONDS": "1",
    }
    env.pop("DATABASE_URL", None)
    env.update(extra or {})
    return env


async def launch(
    name: str, consul: Consul, workdir: Path, env: Mapping[str, str] = {}, timeout: float = 60.0
) -> ServiceProcess:
    """Start `python -m services.<name>` and wait until this very process is passing in Consul;
    a process that exits first fails with its log."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}-{len(list(workdir.glob(f'{name}-*.log')))}.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            f"services.{name}",
            env=service_env(consul, env),
            stdout=log,
            stderr=log,
        )
    running = ServiceProcess(name, proc, log_path, consul.state_dir / "tls")
    try:
        async with ConsulClient(consul.address) as client:

            async def registered() -> bool:
                assert proc.returncode is None, f"{name} exited:\n{running.log()}"
                _, instances = await client.healthy(name)
                return any(i.meta.get("pid") == str(proc.pid) for i in instances)

            await eventually(registered, timeout=timeout, what=f"{name} passing in Consul")
    except BaseException:
        await running.stop(signal.SIGKILL)
        raise
    return running


@asynccontextmanager
async def running_service(
    name: str, consul: Consul, workdir: Path, env: Mapping[str, str] = {}
) -> AsyncIterator[ServiceProcess]:
    """`launch`, then SIGTERM (and SIGKILL if it will not exit) on the way out."""
    service = await launch(name, consul, workdir, env)
    try:
        yield service
    finally:
        try:
            await service.stop()
        except TimeoutError:
            await service.stop(signal.SIGKILL)


@dataclass(frozen=True)
class Exited:
    pid: int
    code: int
    output: str


async def run_to_exit(
    name: str, consul: Consul, env: Mapping[str, str] = {}, timeout: float = 60.0
) -> Exited:
    """Run `python -m services.<name>` until it exits by itself (a refused configuration) and
    return its exit code and combined output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"services.{name}",
        env=service_env(consul, env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return Exited(proc.pid, proc.returncode, out.decode())


async def grpcurl(
    tls: TlsConfig, service: str, *args: str, caller: str | None = "operator"
) -> tuple[int, str]:
    """grpcurl against an instance of `service` over TLS, presenting the mesh certificate of
    `caller` (none for None): its exit code and combined output."""
    command = [str(tools.grpcurl_binary()), "-cacert", str(tls.ca_cert_path)]
    if caller is not None:
        load_service_credentials(tls, caller)
        command += ["-cert", str(tls.leaf_cert_path(caller))]
        command += ["-key", str(tls.leaf_key_path(caller))]
    proc = await asyncio.create_subprocess_exec(
        *command,
        "-servername",
        service,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()
