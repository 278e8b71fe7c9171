"""The event bus settings: the `[events]` section / `TRADEMESH_EVENTS_*`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mesh.config import ConfigError, load_section

SECTION = "events"


def _key(name: str) -> str:
    return f"TRADEMESH_{SECTION}_{name}".upper()


@dataclass(frozen=True, slots=True)
class EventsConfig:
    """How a process reaches Kafka and how its relay and consumers pace themselves."""

    # Comma-separated host:port list of Kafka brokers.
    bootstrap_servers: str = "127.0.0.1:9092"
    # Prefix of the Kafka client ids this process uses (the service name is appended).
    client_id: str = "trademesh"
    # Replication factor of topics created by `ensure_topics` (1 on a single broker).
    replication_factor: int = 1
    # Kafka request timeout: how long one publish or fetch may wait for the broker.
    request_timeout_seconds: float = 10.0

    # The outbox relay: it wakes on `wake()` after a commit and at least this often.
    relay_poll_interval_seconds: float = 1.0
    relay_batch_size: int = 500
    # Published outbox rows are kept this long (for inspection), then deleted.
    outbox_retention_seconds: float = 3600.0
    # processed_events rows are kept this long; longer than the topics' retention, so a
    # record can never be redelivered after its id was forgotten.
    processed_retention_seconds: float = 8 * 86400.0
    # Backoff between relay attempts while Kafka does not answer.
    relay_backoff_initial_seconds: float = 0.2
    relay_backoff_max_seconds: float = 10.0

    # Consumers: a handler gets this many attempts per record before the record goes to the
    # dead-letter topic, waiting between attempts with exponential backoff.
    consumer_max_attempts: int = 5
    consumer_backoff_initial_seconds: float = 0.1
    consumer_backoff_max_seconds: float = 5.0
    consumer_max_batch: int = 100

    def __post_init__(self) -> None:
        if not self.bootstrap_servers.strip() or any(
            ":" not in server or not server.rsplit(":", 1)[1].isdigit()
            for server in self.bootstrap_servers.split(",")
        ):
            raise ConfigError(
                _key("bootstrap_servers"),
                f"expected host:port[,host:port...], got {self.bootstrap_servers!r}",
            )
        if not self.client_id.strip():
            raise ConfigError(_key("client_id"), "must not be empty")
        for name in (
            "replication_factor",
            "relay_batch_size",
            "consumer_max_attempts",
            "consumer_max_batch",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(_key(name), f"must be at least 1, got {getattr(self, name)}")
        for name in (
            "request_timeout_seconds",
            "relay_poll_interval_seconds",
            "outbox_retention_seconds",
            "processed_retention_seconds",
            "relay_backoff_initial_seconds",
            "relay_backoff_max_seconds",
            "consumer_backoff_initial_seconds",
            "consumer_backoff_max_seconds",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError(_key(name), f"must be positive, got {getattr(self, name)}")
        for low, high in (
            ("relay_backoff_initial_seconds", "relay_backoff_max_seconds"),
            ("consumer_backoff_initial_seconds", "consumer_backoff_max_seconds"),
        ):
            if getattr(self, high) < getattr(self, low):
                raise ConfigError(_key(high), f"must be at least {low}")

    @property
    def request_timeout_ms(self) -> int:
        return int(self.request_timeout_seconds * 1000)

    @classmethod
    def load(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        toml: Mapping[str, Any] | None = None,
    ) -> EventsConfig:
        """Read `[events]` / `TRADEMESH_EVENTS_*` (environment wins)."""
        return load_section(cls, SECTION, environ=environ, toml=toml)
