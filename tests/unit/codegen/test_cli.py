"""``python -m mesh.codegen`` parses its commands and reports errors with exit statuses."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from mesh.codegen import Layout
from mesh.codegen.cli import main
from tests.unit.codegen.conftest import REPO


def test_module_entry_point_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mesh.codegen", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    for command in ("gen", "check", "lint", "breaking"):
        assert command in result.stdout


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_not_a_checkout_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(tmp_path), "check"]) == 2
    assert "is not a trademesh checkout" in capsys.readouterr().err


def test_check_passes_on_the_checkout(tmp_path: Path) -> None:
    out = io.StringIO()
    arguments = ["--root", str(REPO), "--build-dir", str(tmp_path / "build"), "check"]
    assert main(arguments, out=out) == 0
    assert "up to date" in out.getvalue()


def test_layout_is_found_from_a_subfolder() -> None:
    assert Layout.discover(REPO / "proto" / "trademesh").root == REPO
