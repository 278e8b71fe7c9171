"""Fill a frozen dataclass section from environment variables and a TOML table.

A field `http_port` of section `consul` is read from `TRADEMESH_CONSUL_HTTP_PORT`, else from
`[consul] http_port` in the TOML file, else the dataclass default. Environment wins so a single
value can be overridden for one run. Every value is converted and checked here, once, so a bad
value fails at start-up with its key's name rather than later inside a request.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from mesh.config.errors import ConfigError

T = TypeVar("T")

ENV_PREFIX = "TRADEMESH_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_key(section: str, field: str) -> str:
    return f"{ENV_PREFIX}{section}_{field}".upper()


def config_parser(prog: str) -> argparse.ArgumentParser:
    """The argument parser of a process entry point, with the `--config FILE` they all take
    (default `TRADEMESH_CONFIG`)."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("TRADEMESH_CONFIG"),
        help="TOML config file (TRADEMESH_* environment variables win)",
    )
    return parser


def read_toml(path: Path | None) -> Mapping[str, Any]:
    """Read a TOML config file; a missing or malformed file is a ConfigError naming it."""
    if path is None:
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "config file does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None


def load_section(
    cls: type[T],
    section: str,
    *,
    environ: Mapping[str, str] | None = None,
    toml: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> T:
    """Build `cls` (a dataclass) for `section`; `overrides` (e.g. CLI flags) win over both."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    environ = os.environ if environ is None else environ
    table = (toml or {}).get(section, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{section}]", "must be a TOML table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for name in table:
        if name not in known:
            raise ConfigError(f"[{section}] {name}", f"unknown key; known keys: {sorted(known)}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for f in dataclasses.fields(cls):
        key = env_key(section, f.name)
        if overrides is not None and overrides.get(f.name) is not None:
            raw, where = overrides[f.name], f"--{f.name.replace('_', '-')}"
        elif key in environ:
            raw, where = environ[key], key
        elif f.name in table:
            raw, where = table[f.name], f"[{section}] {f.name}"
        else:
            continue
        values[f.name] = _convert(raw, hints[f.name], where)
        sources[f.name] = where
    try:
        return cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        # A check in the dataclass itself names its field; report the key that set it.
        names = sorted((f.name for f in dataclasses.fields(cls)), key=len, reverse=True)
        field = next((n for n in names if n in str(exc)), None)
        key = section if field is None else sources.get(field, env_key(section, field))
        raise ConfigError(key, str(exc)) from None


def _convert(raw: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if raw is None or raw == "":
            return None
        return _convert(raw, args[0], where)
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        parts = raw if isinstance(raw, list | tuple) else [p for p in str(raw).split(",") if p]
        return tuple(_convert(p.strip() if isinstance(p, str) else p, item, where) for p in parts)
    converter = _CONVERTERS.get(hint)
    if converter is None:
        raise TypeError(f"{where}: unsupported config type {hint!r}")
    try:
        return converter(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(where, f"{raw!r} is not a valid {hint.__name__}: {exc}") from None


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected one of true/false/1/0/yes/no/on/off")


def _to_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("expected an integer")
    return int(str(raw).strip())


def _to_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("expected a number")
    return float(str(raw).strip())


_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    str: str,
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    Path: lambda raw: Path(str(raw)).expanduser(),
}
