"""What a service tells Consul about itself, and what discovery hands back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Registration:
    """A gRPC service instance with a native gRPC health check (over mTLS unless plaintext)."""

    name: str
    instance_id: str
    host: str
    port: int
    meta: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    tls: bool = True
    check_interval_seconds: float = 2.0
    check_timeout_seconds: float = 1.0
    deregister_critical_after_seconds: float = 60.0

    def to_consul(self) -> dict[str, Any]:
        check: dict[str, Any] = {
            "Name": f"{self.name} gRPC health",
            "GRPC": f"{self.host}:{self.port}/{self.name}",
            "GRPCUseTLS": self.tls,
            "Interval": f"{self.check_interval_seconds}s",
            "Timeout": f"{self.check_timeout_seconds}s",
            "DeregisterCriticalServiceAfter": f"{self.deregister_critical_after_seconds}s",
        }
        if self.tls:
            check["TLSServerName"] = self.name
        return {
            "ID": self.instance_id,
            "Name": self.name,
            "Address": self.host,
            "Port": self.port,
            "Meta": dict(self.meta),
            "Tags": list(self.tags),
            "Check": check,
        }


@dataclass(frozen=True, order=True)
class Instance:
    """One healthy instance of a service as discovery sees it."""

    instance_id: str
    host: str
    port: int
    meta: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_health_entry(cls, entry: Mapping[str, Any]) -> Instance:
        service = entry["Service"]
        host = service.get("Address") or entry["Node"]["Address"]
        return cls(service["ID"], host, int(service["Port"]), dict(service.get("Meta") or {}))
