"""The parts of resilience that know nothing of gRPC channels: retry budget, backoff, circuit
breaker, bulkhead, what a failure means, and their settings."""

from __future__ import annotations

from mesh.resilience.backoff import full_jitter
from mesh.resilience.breaker import BreakerState, CircuitBreaker
from mesh.resilience.budget import RetryBudget
from mesh.resilience.bulkhead import Bulkhead
from mesh.resilience.config import BreakerConfig, BulkheadConfig, RetryConfig
from mesh.resilience.policy import UNHEALTHY, retry_floor

__all__ = [
    "UNHEALTHY",
    "BreakerConfig",
    "BreakerState",
    "Bulkhead",
    "BulkheadConfig",
    "CircuitBreaker",
    "RetryBudget",
    "RetryConfig",
    "full_jitter",
    "retry_floor",
]
