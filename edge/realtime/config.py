"""Settings of the edge's Socket.IO rooms (`[edge_realtime]`, `TRADEMESH_EDGE_REALTIME_*`)."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.config import ConfigError, env_key, load_section

SECTION = "edge_realtime"


def _key(field: str) -> str:
    return env_key(SECTION, field)


@dataclass(frozen=True)
class RealtimeConfig:
    """`buffer_size` events are kept per room for clients that come back with `since`;
    `accept_window_seconds` is how long a join waits for a stream's first message before a
    stream the service has not refused counts as accepted; failed upstream streams are
    reopened after `retry_base_seconds * 2**n` (jittered, at most `retry_cap_seconds`)."""

    buffer_size: int = 256
    max_rooms_per_client: int = 100
    accept_window_seconds: float = 1.0
    retry_base_seconds: float = 0.2
    retry_cap_seconds: float = 10.0
    cors_origins: tuple[str, ...] = ()
    ping_interval_seconds: float = 25.0
    ping_timeout_seconds: float = 20.0
    socketio_path: str = "socket.io"

    def __post_init__(self) -> None:
        if not 1 <= self.buffer_size <= 100_000:
            raise ConfigError(_key("buffer_size"), "must be in 1..100000")
        if not 1 <= self.max_rooms_per_client <= 10_000:
            raise ConfigError(_key("max_rooms_per_client"), "must be in 1..10000")
        if not 0 < self.accept_window_seconds <= 30:
            raise ConfigError(_key("accept_window_seconds"), "must be in (0, 30]")
        if self.retry_base_seconds <= 0:
            raise ConfigError(_key("retry_base_seconds"), "must be > 0")
        if self.retry_cap_seconds < self.retry_base_seconds:
            raise ConfigError(_key("retry_cap_seconds"), "must be >= retry_base_seconds")
        for origin in self.cors_origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ConfigError(
                    _key("cors_origins"), f"{origin!r} is not '*' or an http(s) origin"
                )
        if self.ping_interval_seconds <= 0:
            raise ConfigError(_key("ping_interval_seconds"), "must be > 0")
        if self.ping_timeout_seconds <= 0:
            raise ConfigError(_key("ping_timeout_seconds"), "must be > 0")
        if not self.socketio_path or self.socketio_path.startswith("/"):
            raise ConfigError(_key("socketio_path"), "must be a non-empty path without a leading /")


def load_realtime_config(**kwargs: object) -> RealtimeConfig:
    """From the environment (and `toml`/`overrides` as `load_section` takes them)."""
    return load_section(RealtimeConfig, SECTION, **kwargs)  # type: ignore[arg-type]
