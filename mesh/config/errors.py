"""The one error raised for bad configuration; it always names the offending key."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is missing, malformed or out of range."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem
