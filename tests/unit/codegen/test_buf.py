"""buf lint and buf breaking run without the Buf Schema Registry."""

from __future__ import annotations

import io
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from mesh.codegen import BUF_VERSION, CodegenError, Layout, breaking, find_buf, lint
from mesh.codegen.buf import pinned_buf_path
from mesh.codegen.cli import main
from tests.unit.codegen.conftest import REPO

TRADING = "proto/trademesh/trading/v1/trading.proto"


def test_contracts_pass_buf_lint(repo_layout: Layout, buf_binary: Path) -> None:
    result = lint(repo_layout, buf=buf_binary)
    assert result.ok, result.output
    assert result.output == ""


def test_lint_reports_problems_with_checkout_paths(checkout: Layout, buf_binary: Path) -> None:
    proto = checkout.root / TRADING
    proto.write_text(proto.read_text() + "\nmessage bad_name {\n  string Field = 1;\n}\n")
    result = lint(checkout, buf=buf_binary)
    assert not result.ok
    assert f"{TRADING}:" in result.output
    assert 'Message name "bad_name" should be PascalCase' in result.output
    assert "proto/google" not in result.output and "proto/buf" not in result.output


def test_lint_command_exit_status(checkout: Layout, buf_binary: Path) -> None:
    arguments = ["--root", str(checkout.root), "--build-dir", str(checkout.build_dir), "lint"]
    out = io.StringIO()
    assert main(arguments, out=out) == 0
    assert "no problems" in out.getvalue()
    proto = checkout.root / TRADING
    proto.write_text(proto.read_text() + "\nenum Colour {\n  RED = 0;\n}\n")
    out = io.StringIO()
    assert main(arguments, out=out) == 1
    assert "ENUM" in out.getvalue() or "Enum" in out.getvalue()


def _fake_buf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_find_buf_prefers_the_environment(tmp_path: Path) -> None:
    fake = _fake_buf(tmp_path / "bin" / "buf")
    assert find_buf({"TRADEMESH_BUF": str(fake)}) == fake
    with pytest.raises(CodegenError, match="TRADEMESH_BUF"):
        find_buf({"TRADEMESH_BUF": str(tmp_path / "absent")})


def test_find_buf_looks_in_the_tool_cache(tmp_path: Path) -> None:
    env = {"TRADEMESH_HOME": str(tmp_path)}
    expected = pinned_buf_path(env)
    assert expected.is_relative_to(tmp_path / "buf" / BUF_VERSION / "node_modules" / "@bufbuild")
    with pytest.raises(CodegenError, match="make up"):
        find_buf(env)
    _fake_buf(expected)
    assert find_buf(env) == expected


# -- breaking -------------------------------------------------------------------------------


_GIT_IDENTITY = ("-c", "user.name=Test", "-c", "user.email=test@example.com")


def _git(root: Path, *arguments: str) -> None:
    command = ["git", *_GIT_IDENTITY, "-c", "commit.gpgsign=false", *arguments]
    subprocess.run(command, cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Layout:
    """A fresh git repository holding a copy of buf.yaml and proto/, with no commits."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copyfile(REPO / "buf.yaml", root / "buf.yaml")
    shutil.copytree(REPO / "proto", root / "proto")
    _git(root, "init", "--quiet")
    return Layout.at(root, build_dir=tmp_path / "build")


def _commit(layout: Layout, message: str) -> None:
    _git(layout.root, "add", "--all")
    _git(layout.root, "commit", "--quiet", "--allow-empty", "-m", message)


def test_breaking_skips_without_commits(repo: Layout, buf_binary: Path) -> None:
    result = breaking(repo, buf=buf_binary)
    assert result.skipped == "the repository has no commits yet"


def test_breaking_skips_on_the_first_commit(repo: Layout, buf_binary: Path) -> None:
    _commit(repo, "contracts")
    result = breaking(repo, buf=buf_binary)
    assert result.skipped is not None and "no previous commit" in result.skipped


def test_breaking_skips_when_the_previous_commit_has_no_protos(
    repo: Layout, buf_binary: Path
) -> None:
    shutil.move(repo.proto_dir, repo.root / "later")
    _commit(repo, "skeleton")
    shutil.move(repo.root / "later", repo.proto_dir)
    _commit(repo, "contracts")
    result = breaking(repo, buf=buf_binary)
    assert result.skipped is not None and "has no .proto files under proto/" in result.skipped
    out = io.StringIO()
    arguments = ["--root", str(repo.root), "--build-dir", str(repo.build_dir), "breaking"]
    assert main(arguments, out=out) == 0
    assert "skipped" in out.getvalue()


def test_compatible_change_passes(repo: Layout, buf_binary: Path) -> None:
    _commit(repo, "contracts")
    proto = repo.root / TRADING
    proto.write_text(
        proto.read_text().replace(
            "  bool trading_disabled = 6;", "  bool trading_disabled = 6;\n  string note = 8;"
        )
    )
    _commit(repo, "add a field")
    result = breaking(repo, buf=buf_binary)
    assert result.skipped is None
    assert result.ok, result.output


def test_breaking_change_fails_against_a_ref(repo: Layout, buf_binary: Path) -> None:
    _commit(repo, "contracts")
    proto = repo.root / TRADING
    proto.write_text(
        proto.read_text().replace("int32 max_open_orders = 5", "int64 max_open_orders = 5")
    )
    result = breaking(repo, against="HEAD", buf=buf_binary)
    assert not result.ok
    assert f"{TRADING}:" in result.output
    assert 'max_open_orders" on message "RiskLimits" changed type' in result.output
    out = io.StringIO()
    arguments = ["--root", str(repo.root), "--build-dir", str(repo.build_dir)]
    assert main([*arguments, "breaking", "--against", "HEAD"], out=out) == 1
    assert "max_open_orders" in out.getvalue()


def test_unknown_ref_is_an_error(repo: Layout, buf_binary: Path) -> None:
    _commit(repo, "contracts")
    with pytest.raises(CodegenError, match="no-such-branch"):
        breaking(repo, against="no-such-branch", buf=buf_binary)
