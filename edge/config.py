"""The edge's settings, read once at start-up: `[edge]` / `TRADEMESH_EDGE_*` for the process,
its HTTP layer and streams, and a section for each of its parts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from edge.auth import EdgeAuthConfig
from edge.discovery import DiscoveryConfig
from edge.http.config import HttpConfig
from edge.limits import RateLimitConfig
from edge.ops import OpsConfig
from edge.realtime import RealtimeConfig
from mesh.client import ClientConfig, load_client_config
from mesh.config import ConfigError, env_key, load_section
from mesh.events import EventsConfig
from mesh.infra import paths
from mesh.tokens import TokenConfig

T = TypeVar("T")

SECTION = "edge"


@dataclass(frozen=True)
class EdgeConfig:
    """The process: where it listens and what it calls itself (`edge1`, `edge2` under
    `trademesh up`); how server streams are answered over HTTP."""

    name: str = "edge"
    host: str = "127.0.0.1"
    port: int = 8000
    # A stream refused within this time is answered with its real HTTP status; after it,
    # the answer has started (200) and a failure is a final error frame.
    stream_open_wait_seconds: float = 1.0
    stream_keepalive_seconds: float = 15.0
    grace_seconds: float = 10.0
    tls_dir: Path = field(default_factory=lambda: paths.state_dir() / "tls")

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(env_key(SECTION, "port"), f"{self.port} is not a TCP port")
        if not self.name or not self.name.replace("-", "").isalnum():
            raise ConfigError(env_key(SECTION, "name"), "letters, digits and '-' only")
        for name in ("stream_open_wait_seconds", "stream_keepalive_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(env_key(SECTION, name), "must be > 0")
        if self.grace_seconds < 0:
            raise ConfigError(env_key(SECTION, "grace_seconds"), "must be >= 0")


@dataclass(frozen=True)
class EdgeSettings:
    edge: EdgeConfig
    http: HttpConfig
    ops: OpsConfig
    auth: EdgeAuthConfig
    limits: RateLimitConfig
    realtime: RealtimeConfig
    discovery: DiscoveryConfig
    client: ClientConfig
    events: EventsConfig
    tokens: TokenConfig

    @classmethod
    def load(cls, toml: Mapping[str, Any]) -> EdgeSettings:
        edge, http, ops = _split(toml, SECTION, (EdgeConfig, HttpConfig, OpsConfig))
        return cls(
            edge=edge,
            http=http,
            ops=ops,
            auth=load_section(EdgeAuthConfig, "edge_auth", toml=toml),
            limits=load_section(RateLimitConfig, "edge_limits", toml=toml),
            realtime=load_section(RealtimeConfig, "edge_realtime", toml=toml),
            discovery=load_section(DiscoveryConfig, "edge_discovery", toml=toml),
            client=load_client_config(toml),
            events=EventsConfig.load(toml=toml),
            tokens=load_section(TokenConfig, "tokens", toml=toml),
        )


def _split(toml: Mapping[str, Any], section: str, kinds: tuple[type[Any], ...]) -> list[Any]:
    """Several dataclasses read from one section, each from its own keys of the table."""
    table = toml.get(section, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{section}]", "must be a TOML table")
    owned = [{f.name for f in dataclasses.fields(kind)} for kind in kinds]
    known = set().union(*owned)
    for name in table:
        if name not in known:
            raise ConfigError(f"[{section}] {name}", f"unknown key; known keys: {sorted(known)}")
    return [
        load_section(kind, section, toml={section: {k: v for k, v in table.items() if k in names}})
        for kind, names in zip(kinds, owned, strict=True)
    ]
