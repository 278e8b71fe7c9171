"""`trademesh`: provision the tools and run the mesh on this machine."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mesh.cli import operator
from mesh.codegen.cli import main as codegen_main
from mesh.config import ConfigError, read_toml
from mesh.infra import InfraConfig, InfraError, InfraStack
from mesh.infra.config import NginxConfig
from mesh.infra.provision import provision
from mesh.infra.provision.runner import STEPS
from mesh.infra.stack import SERVICES
from mesh.tls import TlsError

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

INFRA = ("consul", "kafka", "nginx")
EDGES = tuple(f"edge{n}" for n in range(1, len(NginxConfig().edge_ports) + 1))
COMPONENTS = (*INFRA, *SERVICES, *EDGES)


def say(line: str) -> None:
    console.print(line, markup=False, soft_wrap=True)


def _names(choices: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        bad = [n for n in names if n not in choices]
        if bad or not names:
            raise argparse.ArgumentTypeError(
                f"unknown name(s) {bad or [text]}; choose from {', '.join(choices)}"
            )
        return names

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trademesh", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML config file (env TRADEMESH_* wins)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("provision", help="install the pinned tools into the cache")
    p.add_argument("--only", type=_names([s.name for s in STEPS]), help="comma-separated steps")

    for name, text in (
        ("up", "start the mesh"),
        ("down", "stop the mesh"),
        ("status", "show what runs where"),
    ):
        q = sub.add_parser(name, help=text)
        q.add_argument("--only", type=_names(COMPONENTS), help="comma-separated components")

    p = sub.add_parser("gen", help="regenerate gen/ from proto/ (see `python -m mesh.codegen`)")
    p.add_argument("action", nargs="?", default="gen", choices=("gen", "check", "lint", "breaking"))

    p = sub.add_parser("cert", help="issue a mesh certificate (for grpcurl and other tools)")
    p.add_argument("name", nargs="?", default=operator.OPERATOR)

    p = sub.add_parser(
        "grpcurl",
        help="grpcurl against a service over mTLS, e.g. `trademesh grpcurl identity list`",
    )
    p.add_argument("service")
    p.add_argument(
        "args", nargs=argparse.REMAINDER, help="grpcurl flags, then list/describe/METHOD"
    )

    p = sub.add_parser("logs", help="print the end of a component's log")
    p.add_argument("component", choices=COMPONENTS)
    p.add_argument("-n", "--lines", type=int, default=40)

    infra = sub.add_parser("infra", help="Consul, Kafka and nginx only")
    infra_sub = infra.add_subparsers(dest="infra_command", required=True, metavar="ACTION")
    for name, text in (
        ("up", "start and wait until ready"),
        ("down", "stop"),
        ("status", "health and addresses"),
    ):
        q = infra_sub.add_parser(name, help=text)
        q.add_argument("--only", type=_names(INFRA), help="comma-separated components")
    return parser


def _config(args: argparse.Namespace) -> InfraConfig:
    return InfraConfig.load(toml=read_toml(args.config))


def _stack(args: argparse.Namespace) -> InfraStack:
    whole = args.command != "infra"
    services = list(SERVICES) if whole else []
    return InfraStack(_config(args), getattr(args, "only", None), services=services, edges=whole)


async def _up(args: argparse.Namespace) -> int:
    stack = _stack(args)
    await stack.start(say=say)
    code = await _status(args)
    names = {c.name for c in stack.components}
    config = stack.config
    if "consul" in names:
        say(f"Consul UI        {config.consul.http_address}/ui")
    if "nginx" in names:
        entry = f"http://127.0.0.1:{config.nginx.port}"
        say(f"edge (via nginx) {entry}  (REST /api/v1/..., Socket.IO /socket.io/)")
        say(f"API docs         {entry}/docs  ({entry}/openapi.json, {entry}/asyncapi.json)")
    for name in (n for n in SERVICES if n in names):
        say(f"{name:<16} trademesh grpcurl {name} list")
    say("logs             trademesh logs <component>; stop everything with `make down`")
    return code


async def _down(args: argparse.Namespace) -> int:
    await _stack(args).stop(say=say)
    return 0


async def _status(args: argparse.Namespace) -> int:
    rows = await _stack(args).status()
    table = Table(title="trademesh")
    for column in ("component", "state", "pid", "address"):
        table.add_column(column)
    for row in rows:
        state = "[green]healthy[/]" if row.healthy else f"[red]{row.detail}[/]"
        table.add_row(row.name, state, str(row.pid or "-"), row.address)
    console.print(table)
    return 0 if all(r.healthy for r in rows) else 3


def _logs(args: argparse.Namespace) -> int:
    stack = InfraStack(_config(args), services=list(SERVICES), edges=True)
    console.print(stack.get(args.component).process.log_tail(args.lines), markup=False)
    return 0


def _provision(args: argparse.Namespace) -> int:
    total = provision(args.only, say=say)
    console.print(f"provisioned in {total:.1f}s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Readiness probes expect refused connections while a broker boots; the outcome is
    # reported by the probe itself, so the client library's retries stay out of the output.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        if args.command == "provision":
            return _provision(args)
        if args.command == "logs":
            return _logs(args)
        if args.command == "cert":
            for path in operator.issue_certificate(_config(args), args.name):
                console.print(str(path), markup=False)
            return 0
        if args.command == "grpcurl":
            argv = asyncio.run(operator.grpcurl_argv(_config(args), args.service, args.args))
            operator.exec_grpcurl(argv)
        if args.command == "gen":
            return codegen_main([args.action])
        action = args.infra_command if args.command == "infra" else args.command
        handler = {"up": _up, "down": _down, "status": _status}[action]
        return asyncio.run(handler(args))
    except (InfraError, ConfigError, TlsError) as exc:
        err.print(f"[red]✗[/] {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
