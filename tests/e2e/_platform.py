"""The whole platform on loopback: the five services as real processes (`python -m
services.<name>`, mTLS, registered in Consul, events through Kafka), a mesh client holding a
mesh certificate, and an admin session to set users up with."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import field_mask_pb2
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc
from trademesh.marketdata.v1 import marketdata_pb2_grpc
from trademesh.notification.v1 import notification_pb2_grpc
from trademesh.portfolio.v1 import portfolio_pb2_grpc
from trademesh.trading.v1 import trading_pb2_grpc

from mesh.client import ClientConfig, MeshClient
from mesh.infra import Consul, ConsulConfig, Kafka, KafkaConfig
from mesh.infra.ports import free_ports
from mesh.rpc import bearer_metadata
from mesh.tls import TlsConfig, load_service_credentials
from tests.integration.services._process import ServiceProcess, launch

# In start order: each after the services it calls.
SERVICES: tuple[str, ...] = ("identity", "marketdata", "portfolio", "trading", "notification")
ADMIN_EMAIL = "root@e2e.trademesh.test"
ADMIN_PASSWORD = "admin password of some length"
# The instruments the simulated feed quotes: few, so a fast tick stays cheap.
SYMBOLS: tuple[str, ...] = ("AAPL", "MSFT", "NVDA", "KO", "JPM")

Metadata = tuple[tuple[str, str], ...]

STUBS: dict[str, Any] = {
    "identity": identity_pb2_grpc.IdentityServiceStub,
    "marketdata": marketdata_pb2_grpc.MarketDataServiceStub,
    "portfolio": portfolio_pb2_grpc.PortfolioServiceStub,
    "trading": trading_pb2_grpc.TradingServiceStub,
    "notification": notification_pb2_grpc.NotificationServiceStub,
}


@dataclass(frozen=True)
class PlatformOptions:
    """How the services run: a database URL per service (SQLite in the work dir otherwise),
    the simulated feed's pace and seed, and any further settings per service."""

    database_urls: Mapping[str, str] = field(default_factory=dict)
    tick_interval_seconds: float = 0.2
    seed: int = 7
    # Of a whole day, spread over its ticks: 0.3 moves a 0.2 s tick by about 0.05 %, so
    # resting limit orders near the price cross within seconds.
    volatility: float = 0.3
    env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Which of SERVICES to run (in SERVICES' order).
    services: tuple[str, ...] = SERVICES
    # How many instances of a service to run (one when not named).
    replicas: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, count in self.replicas.items():
            if name not in SERVICES or count < 1:
                raise ValueError(f"replicas: {name}={count} (a service of SERVICES, at least 1)")

    def count(self, name: str) -> int:
        return self.replicas.get(name, 1)


def service_settings(
    name: str, kafka_address: str, workdir: Path, options: PlatformOptions
) -> dict[str, str]:
    """The environment of one service process of the platform."""
    section = f"TRADEMESH_{name.upper()}"
    env = {"TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka_address}
    url = options.database_urls.get(name)
    if url is None:
        env[f"{section}_SQLITE_PATH"] = str(workdir / f"{name}.sqlite3")
    else:
        env[f"{section}_DATABASE_URL"] = url
    if name == "identity":
        env[f"{section}_ADMIN_EMAIL"] = ADMIN_EMAIL
        env[f"{section}_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    elif name == "marketdata":
        env[f"{section}_TICK_INTERVAL_SECONDS"] = str(options.tick_interval_seconds)
        env[f"{section}_SEED"] = str(options.seed)
        env[f"{section}_VOLATILITY"] = str(options.volatility)
        env[f"{section}_SYMBOLS"] = ",".join(SYMBOLS)
    elif name == "trading":
        # Interrupted orders are taken over after seconds rather than the default ten.
        env[f"{section}_STALE_AFTER_SECONDS"] = "2"
        env[f"{section}_SWEEP_INTERVAL_SECONDS"] = "1"
    env.update(options.env.get(name, {}))
    return env


class Platform:
    """The five services on one Consul and one Kafka. `start()` launches them in order and
    signs the admin in; `stop()` ends them (SIGTERM, SIGKILL if one will not exit).

    A service runs `options.replicas` instances: `instances[name][i]` is replica i, and
    `processes[name]` is replica 0, the one the methods act on when no replica is named."""

    def __init__(
        self,
        consul: Consul,
        kafka_address: str,
        workdir: Path,
        options: PlatformOptions | None = None,
        *,
        client: ClientConfig | None = None,
    ) -> None:
        self.consul = consul
        self.kafka_address = kafka_address
        self.workdir = workdir
        self.options = options or PlatformOptions()
        self.processes: dict[str, ServiceProcess] = {}
        self.instances: dict[str, list[ServiceProcess]] = {}
        self._client_config = client or ClientConfig(consul_address=consul.address)
        self._mesh: MeshClient | None = None
        self.admin: Metadata = ()

    @property
    def tls_dir(self) -> Path:
        return self.consul.state_dir / "tls"

    @property
    def mesh(self) -> MeshClient:
        assert self._mesh is not None, "the platform is not started"
        return self._mesh

    def client(self, config: ClientConfig | None = None) -> MeshClient:
        """Another mesh client into the platform, as the edge would hold one."""
        credentials = load_service_credentials(TlsConfig(self.tls_dir), "edge")
        return MeshClient(config or self._client_config, credentials=credentials)

    async def start(self) -> None:
        try:
            for name in SERVICES:
                if name in self.options.services:
                    for replica in range(self.options.count(name)):
                        await self.launch(name, replica)
            self._mesh = self.client()
            await self._mesh.start()
            identity = await self.stub("identity")
            login = await identity.Login(
                identity_pb2.LoginRequest(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
            )
            self.admin = (bearer_metadata(login.tokens.access_token),)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        mesh, self._mesh = self._mesh, None
        if mesh is not None:
            await mesh.stop()
        instances, self.instances, self.processes = self.instances, {}, {}
        processes = [process for group in instances.values() for process in group]
        # All at once: each drains its own calls, and nothing calls in any more.
        await asyncio.gather(*(_end(process) for process in processes))

    async def launch(self, name: str, replica: int = 0) -> ServiceProcess:
        """Start replica `replica` of `name` (again) and wait until Consul has it passing."""
        group = self.instances.setdefault(name, [])
        if not 0 <= replica <= len(group):
            raise ValueError(f"{name} has {len(group)} replicas; cannot launch replica {replica}")
        env = service_settings(name, self.kafka_address, self.workdir, self.options)
        process = await launch(name, self.consul, self.workdir, env)
        if replica == len(group):
            group.append(process)
        else:
            group[replica] = process
        if replica == 0:
            self.processes[name] = process
        return process

    async def restart(self, name: str, replica: int = 0) -> ServiceProcess:
        """SIGTERM `name` (it drains and deregisters), then start it again."""
        await self.instances[name][replica].stop()
        return await self.launch(name, replica)

    async def kill(self, name: str, replica: int = 0) -> None:
        """SIGKILL: a crash, with nothing flushed or deregistered."""
        await self.instances[name][replica].stop(signal.SIGKILL)

    def log(self, name: str) -> str:
        """Every log of `name` this platform ran, oldest first."""
        logs = sorted(self.workdir.glob(f"{name}-*.log"), key=lambda p: p.stat().st_mtime)
        return "".join(path.read_text(errors="replace") for path in logs)

    def log_tails(self, chars: int = 3000) -> str:
        """The end of each service's log, for assertion messages."""
        return "\n".join(f"--- {name} ---\n{self.log(name)[-chars:]}" for name in SERVICES)

    async def stub(self, service: str, mesh: MeshClient | None = None) -> Any:
        return await (mesh or self.mesh).stub(STUBS[service], service)

    async def promote(self, user_id: str) -> None:
        """Make a registered user a trader (registrations get the viewer role)."""
        identity = await self.stub("identity")
        await identity.UpdateUser(
            identity_pb2.UpdateUserRequest(
                user_id=user_id,
                user=identity_pb2.User(roles=[identity_pb2.ROLE_VIEWER, identity_pb2.ROLE_TRADER]),
                update_mask=field_mask_pb2.FieldMask(paths=["roles"]),
            ),
            metadata=self.admin,
        )


async def _end(process: ServiceProcess) -> None:
    try:
        await process.stop()
    except TimeoutError:
        await process.stop(signal.SIGKILL)


@asynccontextmanager
async def running_platform(
    consul: Consul, kafka_address: str, workdir: Path, options: PlatformOptions | None = None
) -> AsyncIterator[Platform]:
    platform = Platform(consul, kafka_address, workdir, options)
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


@dataclass
class Infra:
    """A Consul and a Kafka of their own, for a platform that must not share them."""

    consul: Consul
    kafka: Kafka


@asynccontextmanager
async def own_infra(state_dir: Path) -> AsyncIterator[Infra]:
    """Start a Consul and a Kafka on free loopback ports with their state in `state_dir`."""
    http, serf, server, kafka_port, controller = free_ports(5)
    consul = Consul(ConsulConfig(http_port=http, serf_lan_port=serf, server_port=server), state_dir)
    kafka = Kafka(KafkaConfig(port=kafka_port, controller_port=controller), state_dir)
    async with consul, kafka:
        yield Infra(consul, kafka)
