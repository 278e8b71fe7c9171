"""One provisioning step: check what is cached, install what is missing, verify what was built.

Every install goes into a scratch directory that is renamed into place only after the tool ran
and its files were fingerprinted, so an interrupted build never looks complete. On the next run
a fingerprint or version mismatch is reported and the entry rebuilt rather than reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mesh.infra.errors import InfraError

MARKER = ".trademesh-verified.json"


class ProvisionError(InfraError):
    """A step failed; says which, the command, and where its log is."""

    def __init__(self, step: str, message: str, log_path: Path | None = None) -> None:
        where = f"\n  log: {log_path}" if log_path else ""
        super().__init__(f"{step}: {message}{where}")
        self.step = step
        self.log_path = log_path


@dataclass(frozen=True)
class Context:
    cache: Path
    logs: Path
    repo: Path


def require_program(step: str, program: str, hint: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise ProvisionError(step, f"`{program}` is not on PATH; {hint}")
    return found


def run(
    step: str,
    argv: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run a command, appending its output to the step's log; a failure names the command."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    with log_path.open("a") as log:
        log.write(f"$ {' '.join(argv)}\n")
        log.flush()
        try:
            result = subprocess.run(
                list(argv),
                cwd=cwd,
                env=full_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise ProvisionError(step, f"cannot run `{argv[0]}`: {exc}", log_path) from exc
        log.write(result.stdout)
    if result.returncode != 0:
        last = "\n".join("    " + line for line in result.stdout.strip().splitlines()[-15:])
        raise ProvisionError(
            step, f"`{' '.join(argv)}` failed with exit code {result.returncode}\n{last}", log_path
        )
    return result.stdout


def fingerprint(root: Path, files: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for rel in sorted(files):
        digest = hashlib.sha256()
        with (root / rel).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        out[rel] = digest.hexdigest()
    return out


def write_marker(root: Path, version: str, files: Sequence[str]) -> None:
    data = {"version": version, "files": fingerprint(root, files)}
    (root / MARKER).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def verify_marker(root: Path, version: str) -> str | None:
    """None if `root` holds exactly what was fingerprinted for `version`, else the problem."""
    marker = root / MARKER
    if not root.exists():
        return "not installed"
    try:
        data = json.loads(marker.read_text())
    except FileNotFoundError:
        return "incomplete (no verification record)"
    except json.JSONDecodeError:
        return "verification record is corrupt"
    if data.get("version") != version:
        return f"holds version {data.get('version')!r}"
    files = data.get("files") or {}
    for rel in files:
        if not (root / rel).is_file():
            return f"{rel} is missing"
    actual = fingerprint(root, list(files))
    for rel, digest in files.items():
        if actual[rel] != digest:
            return f"{rel} does not match its recorded checksum"
    return None


def remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for sub in [path, *path.rglob("*")]:  # Go's module cache is read-only by default
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o755)
    shutil.rmtree(path)


class Step(ABC):
    """A pinned tool in the cache. `check()` is cheap; `install()` may take minutes."""

    name: str
    version: str

    @abstractmethod
    def check(self, ctx: Context) -> str | None:
        """None when present and verified; otherwise why it must be (re)installed."""

    @abstractmethod
    def install(self, ctx: Context) -> str:
        """Install; returns a short description of what was fetched or built."""

    def log_path(self, ctx: Context) -> Path:
        return ctx.logs / f"{self.name}-{self.version}.log"


class CachedStep(Step):
    """A step whose result is a version directory in the cache, built in scratch then renamed."""

    def root(self, ctx: Context) -> Path:
        return ctx.cache / self.name / self.version

    @abstractmethod
    def build(self, ctx: Context, scratch: Path) -> tuple[str, list[str]]:
        """Build into `scratch`; return (description, files to fingerprint relative to it)."""

    @abstractmethod
    def version_of(self, ctx: Context, root: Path) -> str:
        """The version the installed tool reports about itself."""

    def check(self, ctx: Context) -> str | None:
        root = self.root(ctx)
        problem = verify_marker(root, self.version)
        if problem is not None:
            return problem
        try:
            reported = self.version_of(ctx, root)
        except (OSError, ProvisionError) as exc:
            return f"does not run: {exc}"
        if self.version not in reported:
            return f"reports version {reported.strip()!r}"
        return None

    def install(self, ctx: Context) -> str:
        root = self.root(ctx)
        scratch = root.with_name(f"{root.name}.partial")
        remove_tree(scratch)
        scratch.mkdir(parents=True)
        log = self.log_path(ctx)
        log.unlink(missing_ok=True)
        try:
            description, files = self.build(ctx, scratch)
        except OSError as exc:
            raise ProvisionError(self.name, f"build failed: {exc}", log) from exc
        write_marker(scratch, self.version, files)
        reported = self.version_of(ctx, scratch)
        if self.version not in reported:
            raise ProvisionError(
                self.name, f"built tool reports {reported.strip()!r}, expected {self.version}", log
            )
        remove_tree(root)
        scratch.rename(root)
        return description
