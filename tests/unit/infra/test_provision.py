"""The provisioning machinery with a small real tool (a shell script) standing in for a build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mesh.infra.provision.runner import provision
from mesh.infra.provision.step import MARKER, CachedStep, Context, ProvisionError, run


class ScriptStep(CachedStep):
    """'Builds' an executable that prints its version; counts how often it was built."""

    name = "script"
    version = "1.2.3"

    def __init__(self, fail: bool = False) -> None:
        self.builds = 0
        self.fail = fail

    def build(self, ctx: Context, scratch: Path) -> tuple[str, list[str]]:
        self.builds += 1
        if self.fail:
            run(self.name, ["sh", "-c", "echo compiling; exit 3"], self.log_path(ctx))
        tool = scratch / "bin" / "tool"
        tool.parent.mkdir()
        tool.write_text(f"#!/bin/sh\necho tool {self.version}\n")
        tool.chmod(0o755)
        return "built a script", ["bin/tool"]

    def version_of(self, ctx: Context, root: Path) -> str:
        return run(self.name, [str(root / "bin" / "tool")], self.log_path(ctx))


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(cache=tmp_path / "cache", logs=tmp_path / "logs", repo=tmp_path)


def test_installs_once_then_uses_the_verified_cache(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = ScriptStep()
    monkeypatch.setattr("mesh.infra.provision.runner.STEPS", (step,))
    lines: list[str] = []
    provision(ctx=ctx, say=lines.append)
    provision(ctx=ctx, say=lines.append)
    assert step.builds == 1
    assert "built a script" in lines[0]
    assert "cached" in lines[1]
    marker = json.loads((step.root(ctx) / MARKER).read_text())
    assert marker["version"] == "1.2.3" and "bin/tool" in marker["files"]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda root: (root / "bin" / "tool").write_text("#!/bin/sh\necho tampered\n"), "checksum"),
        (lambda root: (root / MARKER).unlink(), "no verification record"),
        (lambda root: (root / "bin" / "tool").unlink(), "missing"),
    ],
)
def test_corrupt_cache_entry_is_detected_and_rebuilt(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, damage: object, problem: str
) -> None:
    step = ScriptStep()
    monkeypatch.setattr("mesh.infra.provision.runner.STEPS", (step,))
    provision(ctx=ctx, say=lambda _: None)
    damage(step.root(ctx))  # type: ignore[operator]
    assert problem in (step.check(ctx) or "")
    lines: list[str] = []
    provision(ctx=ctx, say=lines.append)
    assert step.builds == 2
    assert "rebuilding" in lines[0]
    assert step.check(ctx) is None


def test_failed_build_names_step_command_and_log_and_leaves_no_entry(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = ScriptStep(fail=True)
    monkeypatch.setattr("mesh.infra.provision.runner.STEPS", (step,))
    with pytest.raises(ProvisionError) as info:
        provision(ctx=ctx, say=lambda _: None)
    message = str(info.value)
    assert message.startswith("script:")
    assert "exit code 3" in message and "echo compiling" in message
    assert info.value.log_path == step.log_path(ctx)
    assert "compiling" in step.log_path(ctx).read_text()
    assert not step.root(ctx).exists()


def test_unknown_step_and_missing_program(ctx: Context) -> None:
    with pytest.raises(ProvisionError, match="unknown step"):
        provision(["nope"], ctx=ctx)
    from mesh.infra.provision.step import require_program

    with pytest.raises(ProvisionError, match="not on PATH"):
        require_program("x", "definitely-not-a-program-here", "install it")
