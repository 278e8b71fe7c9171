"""buf, from the npm package @bufbuild/buf (which ships the native binary per platform)."""

from __future__ import annotations

import platform
from pathlib import Path

from mesh.infra import versions
from mesh.infra.provision.step import CachedStep, Context, ProvisionError, require_program, run

_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


def platform_package() -> str:
    arch = _ARCH.get(platform.machine().lower())
    if arch is None:
        raise ProvisionError("buf", f"no @bufbuild/buf binary for machine {platform.machine()}")
    return f"@bufbuild/buf-{platform.system().lower()}-{arch}"


def binary_path(root: Path) -> Path:
    return root / "node_modules" / platform_package() / "bin" / "buf"


class BufStep(CachedStep):
    name = "buf"
    version = versions.BUF

    def build(self, ctx: Context, scratch: Path) -> tuple[str, list[str]]:
        npm = require_program(self.name, "npm", "install Node.js with npm and run again")
        run(
            self.name,
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--prefix",
                str(scratch),
                f"@bufbuild/buf@{self.version}",
            ],
            self.log_path(ctx),
        )
        rel = binary_path(scratch).relative_to(scratch)
        return f"installed npm package @bufbuild/buf@{self.version}", [str(rel)]

    def version_of(self, ctx: Context, root: Path) -> str:
        return run(self.name, [str(binary_path(root)), "--version"], self.log_path(ctx))
