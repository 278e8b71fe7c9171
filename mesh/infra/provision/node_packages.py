"""npm packages run with node (the JavaScript Socket.IO client), pinned and cached per version."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from mesh.infra import paths, versions
from mesh.infra.errors import InfraError
from mesh.infra.provision.step import CachedStep, Context, ProvisionError, require_program, run

_NODE_HINT = "install Node.js with npm and run again"
_EXACT_VERSION = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")


@dataclass(frozen=True)
class NodePackage:
    """An npm package installed on its own under `<cache>/node/<name>-<version>/node_modules`."""

    package: str
    version: str

    def __post_init__(self) -> None:
        if not self.package or self.package != self.package.strip():
            raise ValueError(f"npm package name {self.package!r} is empty or padded")
        if _EXACT_VERSION.fullmatch(self.version) is None:
            raise ValueError(f"{self.package}: version {self.version!r} is not an exact version")

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    def root(self, cache: Path) -> Path:
        name = self.package.removeprefix("@").replace("/", "-")
        return cache / "node" / f"{name}-{self.version}"

    def node_modules(self, cache: Path) -> Path:
        return self.root(cache) / "node_modules"


SOCKET_IO_CLIENT = NodePackage("socket.io-client", versions.SOCKET_IO_CLIENT)
PACKAGES: tuple[NodePackage, ...] = (SOCKET_IO_CLIENT,)


def installed_node_modules(package: NodePackage, cache: Path | None = None) -> Path:
    """The NODE_PATH that resolves `package`; says how to provision it when it is missing."""
    modules = package.node_modules(cache or paths.cache_root())
    if not (modules / package.package / "package.json").is_file():
        raise InfraError(
            f"{package.spec} not found under {modules}; run `make provision` "
            f"(or `trademesh provision --only {package.package}`) first"
        )
    return modules


def _loads_and_reports_version(package: NodePackage) -> str:
    # Loading the package proves its dependencies resolve, not only that its manifest exists.
    name = json.dumps(package.package)
    return f"require({name}); require({json.dumps(package.package + '/package.json')}).version"


class NodePackageStep(CachedStep):
    """`npm install --prefix` into the cache: no global install, nothing fetched at test time."""

    def __init__(self, package: NodePackage) -> None:
        self.package = package
        self.name = package.package
        self.version = package.version

    def root(self, ctx: Context) -> Path:
        return self.package.root(ctx.cache)

    def build(self, ctx: Context, scratch: Path) -> tuple[str, list[str]]:
        npm = require_program(self.name, "npm", _NODE_HINT)
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
                self.package.spec,
            ],
            self.log_path(ctx),
        )
        modules = scratch / "node_modules"
        if not (modules / self.package.package / "package.json").is_file():
            raise ProvisionError(self.name, f"npm did not install {self.package.spec}")
        files = sorted(str(p.relative_to(scratch)) for p in modules.rglob("*") if p.is_file())
        return f"installed npm package {self.package.spec}", files

    def version_of(self, ctx: Context, root: Path) -> str:
        node = require_program(self.name, "node", _NODE_HINT)
        return run(
            self.name,
            [node, "-p", _loads_and_reports_version(self.package)],
            self.log_path(ctx),
            cwd=root.parent,
            env={"NODE_PATH": str(root / "node_modules")},
        )


STEPS: tuple[NodePackageStep, ...] = tuple(NodePackageStep(p) for p in PACKAGES)
