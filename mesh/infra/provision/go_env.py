"""The Go toolchain environment for tools we build from Go modules, cached with everything else."""

from __future__ import annotations

from mesh.infra.provision.step import Context, require_program


def go_env(ctx: Context) -> dict[str, str]:
    return {
        "GOMODCACHE": str(ctx.cache / "go" / "mod"),
        "GOCACHE": str(ctx.cache / "go" / "build"),
        "GOFLAGS": "-modcacherw",
        # Consul's nested modules (api, sdk, proto-public, ...) are not all in the public
        # checksum database; the wrapper's committed go.sum pins their hashes instead.
        "GONOSUMDB": "github.com/hashicorp/consul",
        "CGO_ENABLED": "0",
    }


def require_go(step: str) -> str:
    return require_program(step, "go", "install the Go toolchain (>= 1.24) and run again")
