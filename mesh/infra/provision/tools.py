"""Where the provisioned tools are; a missing one says how to get it."""

from __future__ import annotations

import shutil
from pathlib import Path

from mesh.infra import paths, versions
from mesh.infra.errors import InfraError
from mesh.infra.provision import buf as buf_step
from mesh.infra.provision.apt import find_nginx

_HINT = "run `make provision` (or `trademesh provision`) first"


def _existing(path: Path, what: str) -> Path:
    if not path.exists():
        raise InfraError(f"{what} not found at {path}; {_HINT}")
    return path


def consul_binary() -> Path:
    return _existing(paths.cache_root() / "consul" / versions.CONSUL / "bin" / "consul", "consul")


def grpcurl_binary() -> Path:
    return _existing(
        paths.cache_root() / "grpcurl" / versions.GRPCURL / "bin" / "grpcurl", "grpcurl"
    )


def buf_binary() -> Path:
    return _existing(buf_step.binary_path(paths.cache_root() / "buf" / versions.BUF), "buf")


def kafka_libs() -> Path:
    return _existing(paths.cache_root() / "kafka" / versions.KAFKA / "libs", "Kafka's jars")


def java_binary() -> str:
    java = shutil.which("java")
    if java is None:
        raise InfraError("java not found on PATH; Kafka needs a Java 17+ runtime")
    return java


def nginx_binary() -> str:
    nginx = find_nginx()
    if nginx is None:
        raise InfraError(f"nginx not found; {_HINT}")
    return nginx
