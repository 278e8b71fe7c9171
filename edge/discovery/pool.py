"""A private descriptor pool built from the FileDescriptorProtos a service reports about
itself, each file added after the files it imports."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor

FileProto = descriptor_pb2.FileDescriptorProto


class PoolError(ValueError):
    """The files do not form a consistent set: a missing import, a cycle, a bad file."""


def _known_elsewhere(name: str) -> FileProto | None:
    """A file the service imports but did not send: taken from the process's own default
    pool (well-known types, google/api, our options), which knows it identically."""
    try:
        found = descriptor_pool.Default().FindFileByName(name)
    except KeyError:
        return None
    proto = FileProto()
    found.CopyToProto(proto)
    return proto


def dependency_order(files: Mapping[str, FileProto]) -> list[FileProto]:
    """`files` by name, each after its imports; imports missing from `files` are taken from
    the default pool when it has them, otherwise a PoolError names the file and its import."""
    ordered: list[FileProto] = []
    done: set[str] = set()
    extra: dict[str, FileProto] = {}

    def visit(name: str, importer: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in path:
            raise PoolError(f"import cycle: {' -> '.join((*path, name))}")
        proto = files.get(name) or extra.get(name)
        if proto is None:
            proto = _known_elsewhere(name)
            if proto is None:
                raise PoolError(f"{importer} imports {name}, which the service did not send")
            extra[name] = proto
        for dependency in proto.dependency:
            visit(dependency, name, (*path, name))
        done.add(name)
        ordered.append(proto)

    for name in sorted(files):
        visit(name, name, ())
    return ordered


def build_pool(files: Iterable[FileProto]) -> descriptor_pool.DescriptorPool:
    """A fresh pool holding `files` (any order; duplicates by name must be identical)."""
    by_name: dict[str, FileProto] = {}
    for proto in files:
        if not proto.name:
            raise PoolError("a file descriptor without a name")
        seen = by_name.get(proto.name)
        if seen is not None and seen.SerializeToString() != proto.SerializeToString():
            raise PoolError(f"two different files named {proto.name}")
        by_name[proto.name] = proto
    pool = descriptor_pool.DescriptorPool()
    for proto in dependency_order(by_name):
        try:
            pool.Add(proto)
        except (TypeError, ValueError, KeyError) as exc:
            raise PoolError(f"{proto.name}: {exc}") from exc
    return pool


def find_services(
    pool: descriptor_pool.DescriptorPool, names: Iterable[str]
) -> list[ServiceDescriptor]:
    """The named services from `pool`, in the order given."""
    found: list[ServiceDescriptor] = []
    for name in names:
        try:
            found.append(pool.FindServiceByName(name))
        except KeyError as exc:
            raise PoolError(f"service {name} is not in the files the service sent") from exc
    return found


def digest(files: Iterable[FileProto]) -> str:
    """A hash of the files' contents that ignores their order."""
    parts = sorted(proto.SerializeToString(deterministic=True) for proto in files)
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()
