"""Run buf lint and buf breaking without the Buf Schema Registry.

buf cannot resolve our third-party imports itself (they would be BSR dependencies), so each
run builds a workspace under the build directory that mirrors the checkout: the repository's
own buf.yaml, and a ``proto/`` folder holding our files plus the third-party import closure
copied from the installed packages. Lint excludes the third-party files; breaking compares
two such workspaces that hold the same third-party files. buf's output names files as
``proto/...``, exactly as in the checkout.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mesh.codegen.errors import CodegenError
from mesh.codegen.layout import Layout
from mesh.codegen.third_party import (
    ProtoFile,
    ThirdPartyProtos,
    first_party_files,
    import_closure,
    write_tree,
)
from mesh.infra import paths, versions
from mesh.infra.errors import InfraError
from mesh.infra.provision import buf as buf_step

__all__ = [
    "BUF_VERSION",
    "DEFAULT_AGAINST",
    "BufResult",
    "breaking",
    "build_workspace",
    "find_buf",
    "lint",
    "pinned_buf_path",
]

BUF_VERSION = versions.BUF
DEFAULT_AGAINST = "HEAD~1"

# platform.machine() -> the suffix of the @bufbuild/buf-<os>-<arch> npm package.


@dataclass(frozen=True)
class BufResult:
    """The outcome of one buf run; ``skipped`` says why buf did not run at all."""

    returncode: int
    output: str
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def pinned_buf_path(env: Mapping[str, str]) -> Path:
    """Where provisioning installs the pinned buf (the npm package of this platform)."""
    try:
        return buf_step.binary_path(paths.cache_root(env) / "buf" / BUF_VERSION)
    except InfraError as exc:
        raise CodegenError(f"{exc}; set TRADEMESH_BUF to a buf binary") from None


def find_buf(env: Mapping[str, str] | None = None) -> Path:
    """The buf binary: ``$TRADEMESH_BUF``, else the pinned one in the tool cache."""
    env = os.environ if env is None else env
    override = env.get("TRADEMESH_BUF")
    if override:
        path = Path(override).expanduser()
        if not _is_executable(path):
            raise CodegenError(f"TRADEMESH_BUF={override} is not an executable file")
        return path
    path = pinned_buf_path(env)
    if not _is_executable(path):
        raise CodegenError(
            f"buf {BUF_VERSION} not found at {path}. `make up` installs it; or set "
            "TRADEMESH_BUF to a buf binary"
        )
    return path


def build_workspace(
    layout: Layout, proto_dir: Path, dest: Path, third_party: Sequence[ProtoFile]
) -> Path:
    """A buf workspace at ``dest``: our buf.yaml, ``proto_dir``'s files and ``third_party``.

    protobuf's well-known types are left out: buf ships its own copies.
    """
    if dest.exists():
        shutil.rmtree(dest)
    module = dest / "proto"
    module.mkdir(parents=True)
    shutil.copyfile(layout.buf_yaml, dest / "buf.yaml")
    ours = first_party_files(proto_dir)
    write_tree(module, ((path, (proto_dir / path).read_bytes()) for path in ours))
    write_tree(module, ((file.path, file.content) for file in third_party if not file.well_known))
    return dest


def _run_buf(buf: Path, arguments: Sequence[str], cwd: Path) -> BufResult:
    result = subprocess.run(
        [str(buf), *arguments], cwd=cwd, capture_output=True, text=True, check=False
    )
    output = "\n".join(part.strip() for part in (result.stdout, result.stderr) if part.strip())
    return BufResult(returncode=result.returncode, output=output)


def lint(layout: Layout, buf: Path | None = None) -> BufResult:
    """``buf lint`` on proto/, with the rules of buf.yaml; third-party files are not linted."""
    buf = buf or find_buf()
    third_party = import_closure(layout.proto_dir, ThirdPartyProtos())
    workspace = build_workspace(layout, layout.proto_dir, layout.buf_dir / "lint", third_party)
    excludes = [
        argument
        for file in third_party
        if not file.well_known
        for argument in ("--exclude-path", f"proto/{file.path}")
    ]
    return _run_buf(buf, ["lint", ".", *excludes], cwd=workspace)


def _git(layout: Layout, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(layout.root), *arguments], capture_output=True, check=False
    )


def _resolve_commit(layout: Layout, ref: str) -> str | None:
    result = _git(layout, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return result.stdout.decode().strip() if result.returncode == 0 else None


def _export_protos(layout: Layout, commit: str, dest: Path) -> int:
    """Write the .proto files under proto/ at ``commit`` into ``dest``; returns how many."""
    listing = _git(layout, "ls-tree", "-r", "--name-only", "-z", commit, "--", "proto/")
    if listing.returncode != 0:
        raise CodegenError(f"git ls-tree {commit} failed: {listing.stderr.decode().strip()}")
    if not any(name.endswith(b".proto") for name in listing.stdout.split(b"\0")):
        return 0
    archive = _git(layout, "archive", "--format=tar", commit, "--", "proto")
    if archive.returncode != 0:
        raise CodegenError(f"git archive {commit} failed: {archive.stderr.decode().strip()}")
    count = 0
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        for member in tar.getmembers():
            path = PurePosixPath(member.name)
            if not member.isfile() or path.suffix != ".proto" or ".." in path.parts:
                continue
            extracted = tar.extractfile(member)
            if extracted is None:
                continue
            relative = path.relative_to("proto")
            target = dest.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(extracted.read())
            count += 1
    return count


def breaking(layout: Layout, against: str = DEFAULT_AGAINST, buf: Path | None = None) -> BufResult:
    """``buf breaking`` of proto/ against proto/ as it was at the git ref ``against``.

    Skips, with the reason, when the checkout has no commit yet, when the default ref
    (the previous commit) does not exist, or when the ref has no .proto files under proto/.
    """
    if _git(layout, "rev-parse", "--git-dir").returncode != 0:
        raise CodegenError(f"{layout.root} is not a git checkout; cannot compare against {against}")
    commit = _resolve_commit(layout, against)
    if commit is None:
        if _resolve_commit(layout, "HEAD") is None:
            return BufResult(0, "", skipped="the repository has no commits yet")
        if against == DEFAULT_AGAINST:
            return BufResult(
                0,
                "",
                skipped=f"{against} does not exist: HEAD has no previous commit "
                "(first commit, or a shallow clone)",
            )
        raise CodegenError(f"{against!r} is not a commit in {layout.root}")
    buf = buf or find_buf()
    root = layout.buf_dir / "breaking"
    previous = root / "previous-proto"
    if previous.exists():
        shutil.rmtree(previous)
    previous.mkdir(parents=True)
    if _export_protos(layout, commit, previous) == 0:
        return BufResult(
            0, "", skipped=f"{against} ({commit[:12]}) has no .proto files under proto/"
        )
    resolver = ThirdPartyProtos()
    union = {
        file.path: file
        for proto_dir in (previous, layout.proto_dir)
        for file in import_closure(proto_dir, resolver)
    }
    third_party = [union[path] for path in sorted(union)]
    current = build_workspace(layout, layout.proto_dir, root / "current", third_party)
    baseline = build_workspace(layout, previous, root / "against", third_party)
    return _run_buf(buf, ["breaking", ".", "--against", str(baseline)], cwd=current)
