"""Typed configuration: frozen dataclasses filled from `TRADEMESH_*` env vars and a TOML file."""

from __future__ import annotations

from mesh.config.errors import ConfigError
from mesh.config.loader import config_parser, env_key, load_section, read_toml

__all__ = ["ConfigError", "config_parser", "env_key", "load_section", "read_toml"]
