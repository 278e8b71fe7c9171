"""The npm package step with a stand-in `npm` (a shell script, no registry) and the real node."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mesh.infra import versions
from mesh.infra.errors import InfraError
from mesh.infra.provision import runner
from mesh.infra.provision.node_packages import (
    PACKAGES,
    SOCKET_IO_CLIENT,
    NodePackage,
    NodePackageStep,
    installed_node_modules,
)
from mesh.infra.provision.step import Context, ProvisionError

# Installs `name@version` under --prefix as a package that loads; FAKE_NPM_VERSION overrides the
# version it writes, FAKE_NPM_BROKEN makes the package throw when required.
FAKE_NPM = """#!/bin/sh
PATH=/usr/bin:/bin
echo "$@" >> "$FAKE_NPM_CALLS"
while [ $# -gt 1 ]; do
  if [ "$1" = "--prefix" ]; then prefix="$2"; fi
  shift
done
name="${1%@*}"; version="${FAKE_NPM_VERSION:-${1##*@}}"
mkdir -p "$prefix/node_modules/$name"
printf '{"name": "%s", "version": "%s", "main": "index.js"}' "$name" "$version" \
  > "$prefix/node_modules/$name/package.json"
body='module.exports = {}'
if [ -n "$FAKE_NPM_BROKEN" ]; then body='throw new Error("broken dependency")'; fi
echo "$body" > "$prefix/node_modules/$name/index.js"
echo "added 1 package"
"""

PACKAGE = NodePackage("fake-pkg", "1.0.0")


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(cache=tmp_path / "cache", logs=tmp_path / "logs", repo=tmp_path)


@pytest.fixture
def npm_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Puts the stand-in npm first on PATH; the file it appends its arguments to."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; the JS Socket.IO client needs Node.js")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(FAKE_NPM)
    (bin_dir / "npm").chmod(0o755)
    (bin_dir / "node").symlink_to(node)
    calls = tmp_path / "npm-calls"
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("FAKE_NPM_CALLS", str(calls))
    return calls


def _calls(npm_calls: Path) -> list[list[str]]:
    if not npm_calls.exists():
        return []
    return [line.split() for line in npm_calls.read_text().splitlines()]


def test_installs_pinned_into_its_cache_dir_once_then_uses_it(
    ctx: Context, npm_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = NodePackageStep(PACKAGE)
    monkeypatch.setattr("mesh.infra.provision.runner.STEPS", (step,))
    lines: list[str] = []
    runner.provision(ctx=ctx, say=lines.append)
    runner.provision(ctx=ctx, say=lines.append)

    root = ctx.cache / "node" / "fake-pkg-1.0.0"
    scratch = str(root.with_name("fake-pkg-1.0.0.partial"))
    assert _calls(npm_calls) == [
        ["install", "--no-audit", "--no-fund", "--no-save", "--prefix", scratch, "fake-pkg@1.0.0"]
    ]
    assert "installed npm package fake-pkg@1.0.0" in lines[0]
    assert "cached" in lines[1]
    assert installed_node_modules(PACKAGE, ctx.cache) == root / "node_modules"
    marker = json.loads((root / ".trademesh-verified.json").read_text())
    assert set(marker["files"]) == {
        "node_modules/fake-pkg/package.json",
        "node_modules/fake-pkg/index.js",
    }


def test_a_changed_file_is_detected_and_reinstalled(
    ctx: Context, npm_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = NodePackageStep(PACKAGE)
    monkeypatch.setattr("mesh.infra.provision.runner.STEPS", (step,))
    runner.provision(ctx=ctx, say=lambda _: None)
    index = step.root(ctx) / "node_modules" / "fake-pkg" / "index.js"
    index.write_text("module.exports = {tampered: true}\n")
    assert "checksum" in (step.check(ctx) or "")
    lines: list[str] = []
    runner.provision(ctx=ctx, say=lines.append)
    assert len(_calls(npm_calls)) == 2
    assert "rebuilding" in lines[0]
    assert step.check(ctx) is None


def test_the_wrong_version_from_npm_is_refused_and_nothing_is_cached(
    ctx: Context, npm_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_VERSION", "1.0.1")
    step = NodePackageStep(PACKAGE)
    with pytest.raises(ProvisionError, match=r"reports '1\.0\.1', expected 1\.0\.0"):
        step.install(ctx)
    with pytest.raises(InfraError, match="not found"):
        installed_node_modules(PACKAGE, ctx.cache)
    assert step.check(ctx) == "not installed"


def test_a_package_that_does_not_load_fails_verification(
    ctx: Context, npm_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_BROKEN", "1")
    step = NodePackageStep(PACKAGE)
    with pytest.raises(ProvisionError, match="broken dependency") as info:
        step.install(ctx)
    assert info.value.step == "fake-pkg"
    assert not step.root(ctx).exists()


def test_missing_npm_says_to_install_node(
    ctx: Context, npm_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (npm_calls.parent / "bin" / "npm").unlink()
    monkeypatch.setattr("mesh.infra.provision.runner.STEPS", (NodePackageStep(PACKAGE),))
    with pytest.raises(ProvisionError, match=r"fake-pkg: `npm` is not on PATH; install Node\.js"):
        runner.provision(ctx=ctx, say=lambda _: None)
    assert not (ctx.cache / "node" / "fake-pkg-1.0.0").exists()


def test_missing_package_names_the_command_that_installs_it(tmp_path: Path) -> None:
    with pytest.raises(InfraError, match=r"trademesh provision --only socket\.io-client"):
        installed_node_modules(SOCKET_IO_CLIENT, tmp_path)


def test_socket_io_client_is_pinned_and_provisioned_with_the_rest(tmp_path: Path) -> None:
    assert SOCKET_IO_CLIENT in PACKAGES
    assert SOCKET_IO_CLIENT.version == versions.SOCKET_IO_CLIENT
    steps = {s.name: s for s in runner.STEPS}
    step = steps["socket.io-client"]
    assert step.version == versions.SOCKET_IO_CLIENT
    ctx = Context(cache=tmp_path, logs=tmp_path, repo=tmp_path)
    assert isinstance(step, NodePackageStep)
    assert step.root(ctx) == tmp_path / "node" / f"socket.io-client-{versions.SOCKET_IO_CLIENT}"


def test_scoped_names_get_a_flat_directory() -> None:
    package = NodePackage("@scope/tool", "2.0.0")
    assert package.root(Path("/c")) == Path("/c/node/scope-tool-2.0.0")
    assert package.spec == "@scope/tool@2.0.0"


@pytest.mark.parametrize("version", ["^4.8.4", "4.x", "", ">=4", "latest", "4.8.4 "])
def test_only_exact_versions_are_pins(version: str) -> None:
    with pytest.raises(ValueError, match="not an exact version"):
        NodePackage("socket.io-client", version)
