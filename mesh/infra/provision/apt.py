"""Tools from Debian's packages: installed with apt-get when missing, never run as services."""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from mesh.infra.provision.step import Context, ProvisionError, Step, run

# Keeps apt's postinst scripts from starting the distribution's services (nginx on :80,
# a PostgreSQL cluster on :5432): we run our own processes with our own config.
_POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def apt_install(step: str, packages: Sequence[str], log: Path) -> None:
    """Install Debian packages as root (or through passwordless sudo)."""
    prefix: list[str] = []
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo is None:
            raise ProvisionError(
                step,
                f"{' '.join(packages)} missing and not root; run `sudo apt-get install "
                f"{' '.join(packages)}` and try again",
            )
        prefix = [sudo, "-n"]
    apt = shutil.which("apt-get")
    if apt is None:
        raise ProvisionError(step, f"apt-get not found; install {' '.join(packages)} by hand")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    wrote_policy = False
    if os.geteuid() == 0 and not _POLICY_RC_D.exists():
        _POLICY_RC_D.write_text("#!/bin/sh\nexit 101\n")
        _POLICY_RC_D.chmod(0o755)
        wrote_policy = True
    try:
        run(step, [*prefix, apt, "-q", "update"], log, env=env)
        run(
            step,
            [*prefix, apt, "-q", "-y", "install", "--no-install-recommends", *packages],
            log,
            env=env,
        )
    finally:
        if wrote_policy:
            _POLICY_RC_D.unlink(missing_ok=True)


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    candidates = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
    return next((c for c in candidates if os.access(c, os.X_OK)), None)


def find_postgres_bindir() -> str | None:
    """The newest /usr/lib/postgresql/<major>/bin that has initdb, pg_ctl and postgres."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    for bindir in found:
        if all(os.access(Path(bindir) / b, os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


class AptStep(Step):
    """A program from a Debian package; its version is whatever the distribution ships."""

    version = "debian"

    def __init__(
        self,
        name: str,
        packages: Sequence[str],
        find: Callable[[], str | None],
        version_argv: Callable[[str], list[str]],
    ) -> None:
        self.name = name
        self.packages = list(packages)
        self._find = find
        self._version_argv = version_argv

    def check(self, ctx: Context) -> str | None:
        found = self._find()
        if found is None:
            return "not installed"
        try:
            run(self.name, self._version_argv(found), self.log_path(ctx))
        except ProvisionError as exc:
            return f"does not run: {exc}"
        return None

    def install(self, ctx: Context) -> str:
        apt_install(self.name, self.packages, self.log_path(ctx))
        if self._find() is None:
            raise ProvisionError(self.name, f"{' '.join(self.packages)} installed but not found")
        return f"installed Debian package(s) {' '.join(self.packages)}"


NGINX = AptStep("nginx", ["nginx-light"], find_nginx, lambda nginx: [nginx, "-v"])
POSTGRES = AptStep(
    "postgres",
    ["postgresql"],
    find_postgres_bindir,
    lambda bindir: [f"{bindir}/postgres", "--version"],
)
