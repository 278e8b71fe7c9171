"""Token issuing and verification settings."""

from __future__ import annotations

from dataclasses import dataclass


def _check_number(name: str, value: object, *, allow_zero: bool = False) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"TokenConfig.{name} must be a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or positive" if allow_zero else "positive"
        raise ValueError(f"TokenConfig.{name} must be {bound}, got {value!r}")


@dataclass(frozen=True, slots=True)
class TokenConfig:
    """Who issues tokens, for whom, and how long they live (all durations in seconds)."""

    issuer: str = "trademesh-identity"
    audience: str = "trademesh"
    access_ttl_seconds: int = 15 * 60
    refresh_ttl_seconds: int = 7 * 24 * 60 * 60
    # Clock skew tolerated between issuer and verifiers.
    leeway_seconds: int = 30

    def __post_init__(self) -> None:
        for name in ("issuer", "audience"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"TokenConfig.{name} must be a non-empty string, got {value!r}")
        _check_number("access_ttl_seconds", self.access_ttl_seconds)
        _check_number("refresh_ttl_seconds", self.refresh_ttl_seconds)
        _check_number("leeway_seconds", self.leeway_seconds, allow_zero=True)
        if self.refresh_ttl_seconds < self.access_ttl_seconds:
            raise ValueError(
                "TokenConfig.refresh_ttl_seconds must be at least "
                f"TokenConfig.access_ttl_seconds ({self.refresh_ttl_seconds!r} < "
                f"{self.access_ttl_seconds!r})"
            )
        if self.leeway_seconds >= self.access_ttl_seconds:
            raise ValueError(
                "TokenConfig.leeway_seconds must be shorter than TokenConfig.access_ttl_seconds"
            )

    @property
    def key_retention_seconds(self) -> float:
        """How long a retired signing key must stay published: the longest token life."""
        return float(max(self.access_ttl_seconds, self.refresh_ttl_seconds) + self.leeway_seconds)
