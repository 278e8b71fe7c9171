"""``python -m mesh.codegen gen|check|lint|breaking``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from mesh.codegen import buf, generation
from mesh.codegen.errors import CodegenError
from mesh.codegen.layout import Layout

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mesh.codegen",
        description="Generate, check, lint and compare the protobuf contracts under proto/.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="the checkout (default: the one holding the working directory)",
    )
    parser.add_argument(
        "--build-dir",
        type=Path,
        help="scratch folder for collected imports and buf workspaces "
        "(default: <root>/.trademesh/build)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("gen", help="regenerate gen/ from proto/")
    commands.add_parser("check", help="fail if gen/ differs from what proto/ generates")
    commands.add_parser("lint", help="buf lint proto/ with the rules of buf.yaml")
    breaking = commands.add_parser(
        "breaking", help="buf breaking: compare proto/ with proto/ at a git ref"
    )
    breaking.add_argument(
        "--against",
        default=buf.DEFAULT_AGAINST,
        metavar="REF",
        help=f"git ref to compare against (default: {buf.DEFAULT_AGAINST})",
    )
    return parser


def _gen(layout: Layout, out: TextIO) -> int:
    report = generation.generate(layout)
    if report.clean:
        print("gen/ is already up to date", file=out)
    else:
        changes = [
            *(f"updated  {path}" for path in report.stale),
            *(f"added    {path}" for path in report.missing),
            *(f"removed  {path}" for path in report.extra),
        ]
        for change in changes:
            print(change, file=out)
        print(f"gen/ updated: {len(changes)} file(s) changed", file=out)
    return 0


def _check(layout: Layout, out: TextIO) -> int:
    report = generation.check(layout)
    if report.clean:
        print("gen/ is up to date with proto/", file=out)
        return 0
    print("gen/ is out of date with proto/:", file=out)
    for line in report.lines():
        print(f"  {line}", file=out)
    print("run `python -m mesh.codegen gen` and commit gen/", file=out)
    return 1


def _report_buf(name: str, result: buf.BufResult, out: TextIO) -> int:
    if result.skipped is not None:
        print(f"buf {name} skipped: {result.skipped}", file=out)
        return 0
    if result.output:
        print(result.output, file=out)
    if result.ok:
        print(f"buf {name}: no problems", file=out)
        return 0
    print(f"buf {name} failed (exit {result.returncode})", file=out)
    return 1


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; returns the process exit status."""
    out = out or sys.stdout
    arguments = _parser().parse_args(argv)
    try:
        layout = Layout.at(arguments.root) if arguments.root else Layout.discover()
        if arguments.build_dir:
            layout = Layout.at(layout.root, build_dir=arguments.build_dir)
        if arguments.command == "gen":
            return _gen(layout, out)
        if arguments.command == "check":
            return _check(layout, out)
        if arguments.command == "lint":
            return _report_buf("lint", buf.lint(layout), out)
        return _report_buf(
            f"breaking against {arguments.against}",
            buf.breaking(layout, against=arguments.against),
            out,
        )
    except CodegenError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
