"""Configuration of the mesh certificate authority and service certificates."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from mesh.tls.spiffe import validate_service_name

_DAY_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """Where the mesh CA and service certificates live and how long they are valid.

    Layout under `directory`: ``ca.pem``, ``ca-key.pem`` and
    ``services/<name>.pem``, ``services/<name>-key.pem``.
    """

    directory: Path
    leaf_validity_seconds: float = 30 * _DAY_SECONDS
    # A leaf is reissued when it would expire within this window.
    renew_before_seconds: float = 10 * _DAY_SECONDS
    ca_validity_seconds: float = 10 * 365 * _DAY_SECONDS
    extra_dns_names: tuple[str, ...] = field(default=())
    extra_ip_addresses: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "directory", Path(self.directory))
        for name in ("leaf_validity_seconds", "ca_validity_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"TlsConfig.{name} must be a positive number, got {value!r}")
        renew = self.renew_before_seconds
        if not isinstance(renew, int | float) or isinstance(renew, bool) or renew < 0:
            raise ValueError(
                f"TlsConfig.renew_before_seconds must be zero or positive, got {renew!r}"
            )
        if renew >= self.leaf_validity_seconds:
            raise ValueError(
                "TlsConfig.renew_before_seconds must be shorter than "
                f"TlsConfig.leaf_validity_seconds ({renew!r} >= {self.leaf_validity_seconds!r})"
            )
        if self.leaf_validity_seconds > self.ca_validity_seconds:
            raise ValueError(
                "TlsConfig.leaf_validity_seconds must not exceed TlsConfig.ca_validity_seconds"
            )
        object.__setattr__(self, "extra_dns_names", tuple(self.extra_dns_names))
        object.__setattr__(self, "extra_ip_addresses", tuple(self.extra_ip_addresses))
        for dns in self.extra_dns_names:
            if not isinstance(dns, str) or not dns or dns != dns.strip():
                raise ValueError(f"TlsConfig.extra_dns_names has an invalid entry {dns!r}")
        for ip in self.extra_ip_addresses:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise ValueError(
                    f"TlsConfig.extra_ip_addresses has an invalid entry {ip!r}"
                ) from None

    @classmethod
    def for_state_dir(cls, state_dir: Path | str) -> TlsConfig:
        """A config with default validity keeping its files in ``<state_dir>/tls``."""
        return cls(Path(state_dir) / "tls")

    @property
    def ca_cert_path(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key_path(self) -> Path:
        return self.directory / "ca-key.pem"

    @property
    def services_directory(self) -> Path:
        return self.directory / "services"

    def leaf_cert_path(self, service_name: str) -> Path:
        return self.services_directory / f"{validate_service_name(service_name)}.pem"

    def leaf_key_path(self, service_name: str) -> Path:
        return self.services_directory / f"{validate_service_name(service_name)}-key.pem"
