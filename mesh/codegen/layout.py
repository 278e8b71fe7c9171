"""Where the contracts, the generated code and the build directory live in a checkout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mesh.codegen.errors import CodegenError

__all__ = ["Layout"]

_MARKERS = ("buf.yaml", "proto")


@dataclass(frozen=True)
class Layout:
    """The paths of one checkout. ``build_dir`` is scratch space, never committed."""

    root: Path
    build_dir: Path

    @classmethod
    def at(cls, root: Path, build_dir: Path | None = None) -> Layout:
        root = root.resolve()
        for marker in _MARKERS:
            if not (root / marker).exists():
                raise CodegenError(f"{root} is not a trademesh checkout: {marker} is missing")
        return cls(root=root, build_dir=(build_dir or root / ".trademesh" / "build").resolve())

    @classmethod
    def discover(cls, start: Path | None = None) -> Layout:
        """The checkout holding ``start`` (the working directory by default), else the one
        this package was loaded from."""
        here = (start or Path.cwd()).resolve()
        candidates = [here, *here.parents, Path(__file__).resolve().parents[2]]
        for candidate in candidates:
            if all((candidate / marker).exists() for marker in _MARKERS):
                return cls.at(candidate)
        raise CodegenError(
            f"no trademesh checkout (a folder with {' and '.join(_MARKERS)}) at or above {here}"
        )

    @property
    def proto_dir(self) -> Path:
        return self.root / "proto"

    @property
    def gen_dir(self) -> Path:
        return self.root / "gen"

    @property
    def buf_yaml(self) -> Path:
        return self.root / "buf.yaml"

    @property
    def protos_dir(self) -> Path:
        """The third-party .proto files, as protoc's second include root."""
        return self.build_dir / "protos"

    @property
    def buf_dir(self) -> Path:
        """Generated buf workspaces, one folder each."""
        return self.build_dir / "buf"
