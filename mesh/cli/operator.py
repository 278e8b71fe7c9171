"""Operator commands: a mesh certificate for a person, and grpcurl already holding one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mesh.discovery import ConsulClient
from mesh.infra import InfraConfig, InfraError
from mesh.infra.provision import tools
from mesh.tls import TlsConfig, load_service_credentials

OPERATOR = "operator"
# grpcurl flags that take a value, so the value is not mistaken for the method.
_VALUE_FLAGS = {
    "-d",
    "-H",
    "-rpc-header",
    "-reflect-header",
    "-max-time",
    "-connect-timeout",
    "-keepalive-time",
    "-format",
    "-proto",
    "-protoset",
    "-import-path",
    "-authority",
    "-user-agent",
    "-max-msg-sz",
    "-expand-headers",
}


def issue_certificate(config: InfraConfig, name: str) -> tuple[Path, Path, Path]:
    """(ca, certificate, key) for `name`, issued by the mesh CA if not already valid."""
    tls = TlsConfig.for_state_dir(config.state_dir)
    load_service_credentials(tls, name)
    return tls.ca_cert_path, tls.leaf_cert_path(name), tls.leaf_key_path(name)


def split_grpcurl_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    flags: list[str] = []
    positional: list[str] = []
    it = iter(args)
    for arg in it:
        if arg.startswith("-"):
            flags.append(arg)
            if arg in _VALUE_FLAGS:
                flags.append(next(it, ""))
        else:
            positional.append(arg)
    return flags, positional


async def grpcurl_argv(config: InfraConfig, service: str, args: Sequence[str]) -> list[str]:
    async with ConsulClient(config.consul.http_address) as consul:
        _, instances = await consul.healthy(service)
    if not instances:
        raise InfraError(f"no healthy instance of {service!r} in Consul; is the mesh up?")
    ca, cert, key = issue_certificate(config, OPERATOR)
    flags, positional = split_grpcurl_args(args)
    return [
        str(tools.grpcurl_binary()),
        "-cacert",
        str(ca),
        "-cert",
        str(cert),
        "-key",
        str(key),
        "-servername",
        service,
        *flags,
        instances[0].address,
        *(positional or ["list"]),
    ]


def exec_grpcurl(argv: list[str]) -> None:
    os.execv(argv[0], argv)
