"""grpcurl, installed from its Go module."""

from __future__ import annotations

from pathlib import Path

from mesh.infra import versions
from mesh.infra.provision.go_env import go_env, require_go
from mesh.infra.provision.step import CachedStep, Context, run

PACKAGE = "github.com/fullstorydev/grpcurl/cmd/grpcurl"


class GrpcurlStep(CachedStep):
    name = "grpcurl"
    version = versions.GRPCURL

    def build(self, ctx: Context, scratch: Path) -> tuple[str, list[str]]:
        go = require_go(self.name)
        run(
            self.name,
            [
                go,
                "install",
                "-trimpath",
                "-ldflags",
                f"-s -w -X main.version=v{self.version}",
                f"{PACKAGE}@v{self.version}",
            ],
            self.log_path(ctx),
            env={**go_env(ctx), "GOBIN": str(scratch / "bin")},
        )
        return f"built from Go module {PACKAGE}@v{self.version}", ["bin/grpcurl"]

    def version_of(self, ctx: Context, root: Path) -> str:
        return run(self.name, [str(root / "bin" / "grpcurl"), "-version"], self.log_path(ctx))
