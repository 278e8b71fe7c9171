"""Find the third-party .proto files our contracts import, in the installed Python packages.

Nothing third-party is committed: every build copies the import closure of ``proto/`` out
of the installed distributions into the build directory.

- ``google/protobuf/*``: grpcio-tools (``grpc_tools/_proto``).
- ``google/api``, ``google/type``, ``google/rpc``: googleapis-common-protos.
- ``buf/validate/validate.proto``: protovalidate ships no .proto file, only the compiled
  descriptor inside its generated module; the source is rendered from that descriptor.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path

from google.protobuf import descriptor_pb2

from mesh.codegen._proto_source import build_pool, render_proto
from mesh.codegen.errors import CodegenError

__all__ = [
    "ProtoFile",
    "ThirdPartyProtos",
    "first_party_files",
    "import_closure",
    "write_tree",
]

# Distributions whose packaged .proto files may be imported, with the folder inside the
# distribution that corresponds to the import root. Earlier entries win.
_DISTRIBUTIONS: tuple[tuple[str, str], ...] = (
    ("grpcio-tools", "grpc_tools/_proto/"),
    ("googleapis-common-protos", ""),
)

_VALIDATE_PATH = "buf/validate/validate.proto"
_WELL_KNOWN_PREFIX = "google/protobuf/"
_IMPORT = re.compile(rb'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;', re.MULTILINE)


@dataclass(frozen=True)
class ProtoFile:
    """One third-party .proto file, by import path."""

    path: str
    content: bytes
    origin: str
    """The distribution it comes from, with its version."""
    needs_python: bool
    """No installed package provides its ``_pb2`` module, so gen/ must hold one."""

    @property
    def well_known(self) -> bool:
        """One of protobuf's own types, which buf provides by itself."""
        return self.path.startswith(_WELL_KNOWN_PREFIX)


class ThirdPartyProtos:
    """Resolves import paths to the .proto files of the installed distributions."""

    def provides(self, path: str) -> bool:
        return path == _VALIDATE_PATH or path in self._packaged

    def resolve(self, path: str) -> ProtoFile | None:
        if path == _VALIDATE_PATH:
            return self._validate
        located = self._packaged.get(path)
        if located is None:
            return None
        origin, file = located
        return ProtoFile(path=path, content=file.read_bytes(), origin=origin, needs_python=False)

    @cached_property
    def _packaged(self) -> Mapping[str, tuple[str, Path]]:
        found: dict[str, tuple[str, Path]] = {}
        for name, prefix in _DISTRIBUTIONS:
            try:
                dist = metadata.distribution(name)
            except metadata.PackageNotFoundError as exc:
                raise CodegenError(
                    f"{name} is not installed; it provides third-party .proto files"
                ) from exc
            origin = f"{name} {dist.version}"
            for entry in dist.files or ():
                relative = entry.as_posix()
                if relative.endswith(".proto") and relative.startswith(prefix):
                    found.setdefault(
                        relative.removeprefix(prefix), (origin, Path(str(dist.locate_file(entry))))
                    )
        return found

    @cached_property
    def _validate(self) -> ProtoFile:
        proto = _protovalidate_descriptor()
        if proto.name != _VALIDATE_PATH:
            raise CodegenError(f"protovalidate's descriptor is named {proto.name!r}")
        origin = f"protovalidate {metadata.version('protovalidate')}"
        header = (
            f"Rendered from the compiled descriptor that {origin} ships;",
            "comments are not part of it. Do not edit: rebuilt by python -m mesh.codegen.",
        )
        text = render_proto(proto, build_pool([proto]), header=header)
        return ProtoFile(
            path=_VALIDATE_PATH, content=text.encode(), origin=origin, needs_python=True
        )


def _protovalidate_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """The FileDescriptorProto of validate.proto embedded in protovalidate's own module."""
    try:
        import protovalidate
    except ImportError as exc:
        raise CodegenError("protovalidate is not installed; it provides validate.proto") from exc
    # ViolationsPb is public API; its module is the generated validate_pb module.
    module = sys.modules.get(getattr(protovalidate, "ViolationsPb", object).__module__)
    desc = getattr(module, "desc", None)
    try:
        serialized = desc().proto.to_binary() if desc is not None else None
    except AttributeError:
        serialized = None
    if not isinstance(serialized, bytes):
        raise CodegenError(
            "cannot read validate.proto's descriptor from protovalidate "
            f"{metadata.version('protovalidate')}: its generated module changed shape"
        )
    return descriptor_pb2.FileDescriptorProto.FromString(serialized)


def first_party_files(proto_dir: Path) -> list[str]:
    """Import paths of every .proto file under ``proto_dir``, sorted."""
    if not proto_dir.is_dir():
        raise CodegenError(f"{proto_dir} is not a directory")
    return sorted(path.relative_to(proto_dir).as_posix() for path in proto_dir.rglob("*.proto"))


def _imports(content: bytes) -> list[str]:
    return [match.decode() for match in _IMPORT.findall(content)]


def import_closure(proto_dir: Path, resolver: ThirdPartyProtos) -> list[ProtoFile]:
    """Every third-party file reachable by imports from ``proto_dir``, sorted by path."""
    first_party = set(first_party_files(proto_dir))
    clashes = sorted(path for path in first_party if resolver.provides(path))
    if clashes:
        raise CodegenError(
            f"{proto_dir} holds files that installed packages provide: {', '.join(clashes)}"
        )
    found: dict[str, ProtoFile] = {}
    pending = [(path, (proto_dir / path).read_bytes()) for path in sorted(first_party)]
    while pending:
        importer, content = pending.pop()
        for path in _imports(content):
            if path in first_party or path in found:
                continue
            file = resolver.resolve(path)
            if file is None:
                raise CodegenError(
                    f"{importer} imports {path!r}, which is neither under {proto_dir} "
                    "nor shipped by an installed package"
                )
            found[path] = file
            pending.append((path, file.content))
    return [found[path] for path in sorted(found)]


def write_tree(root: Path, files: Iterable[tuple[str, bytes]]) -> None:
    """Write ``files`` (relative path, content) under ``root``, creating folders."""
    for relative, content in files:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
