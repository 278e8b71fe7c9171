"""Errors of provisioning and running the infrastructure; each says what to do next."""

from __future__ import annotations

from pathlib import Path


class InfraError(RuntimeError):
    """Something about the local infrastructure failed; the message is meant for a person."""


class PortInUseError(InfraError):
    def __init__(self, component: str, port: int) -> None:
        super().__init__(
            f"{component}: port {port} on 127.0.0.1 is already in use by another process; "
            f"stop it or choose another port (see `trademesh infra up --help`)"
        )
        self.component = component
        self.port = port


class StartError(InfraError):
    """A component did not become ready; carries the tail of its log."""

    def __init__(self, component: str, reason: str, log_path: Path, log_tail: str) -> None:
        tail = "\n".join("    " + line for line in log_tail.splitlines())
        super().__init__(f"{component} did not start: {reason}\n  log: {log_path}\n{tail}")
        self.component = component
        self.log_path = log_path
