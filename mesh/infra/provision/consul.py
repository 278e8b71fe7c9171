"""Consul, built from its Go module through a small wrapper module kept in consul/build/.

Consul's own go.mod replaces its nested modules with local paths, so `go install` of it refuses;
the wrapper requires it like any dependency and its committed go.sum pins every hash.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mesh.infra import versions
from mesh.infra.provision.go_env import go_env, require_go
from mesh.infra.provision.step import CachedStep, Context, run

MODULE = "github.com/hashicorp/consul"


class ConsulStep(CachedStep):
    name = "consul"
    version = versions.CONSUL

    def build(self, ctx: Context, scratch: Path) -> tuple[str, list[str]]:
        go = require_go(self.name)
        src = scratch / "src"
        shutil.copytree(ctx.repo / "consul" / "build", src)
        run(
            self.name,
            [
                go,
                "build",
                "-trimpath",
                "-ldflags",
                "-s -w",
                "-o",
                str(scratch / "bin" / "consul"),
                MODULE,
            ],
            self.log_path(ctx),
            cwd=src,
            env=go_env(ctx),
        )
        shutil.rmtree(src)
        return f"built from Go module {MODULE}@v{self.version}", ["bin/consul"]

    def version_of(self, ctx: Context, root: Path) -> str:
        return run(self.name, [str(root / "bin" / "consul"), "version"], self.log_path(ctx))
