"""Fixtures for the mesh TLS tests: a fresh TLS directory and a controllable clock."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mesh.tls import TlsConfig


class FakeClock:
    """A wall clock the test moves by hand, passed where the code takes `now`."""

    def __init__(self, start: float | None = None) -> None:
        self.value = time.time() if start is None else start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@pytest.fixture
def tls_config(tmp_path: Path) -> TlsConfig:
    return TlsConfig.for_state_dir(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
