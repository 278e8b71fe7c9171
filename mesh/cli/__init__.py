"""The `trademesh` command."""

from __future__ import annotations

from mesh.cli.main import main

__all__ = ["main"]
