"""nginx from Debian's packages, installed with apt-get when missing; never run as a service."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mesh.infra.provision.step import Context, ProvisionError, Step, run

CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
PACKAGE = "nginx-light"
# Keeps apt's postinst from starting the distribution's nginx service on port 80.
_POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


def apt_install(step: str, packages: list[str], log: Path) -> None:
    """Install Debian packages as root (or through sudo), with services kept from starting."""
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


class NginxStep(Step):
    name = "nginx"
    version = "debian"

    def check(self, ctx: Context) -> str | None:
        binary = find_nginx()
        if binary is None:
            return "not installed"
        try:
            run(self.name, [binary, "-v"], self.log_path(ctx))
        except ProvisionError as exc:
            return f"does not run: {exc}"
        return None

    def install(self, ctx: Context) -> str:
        apt_install(self.name, [PACKAGE], self.log_path(ctx))
        binary = find_nginx()
        if binary is None:
            raise ProvisionError(self.name, f"{PACKAGE} installed but no nginx binary found")
        return f"installed Debian package {PACKAGE}"

    def describe(self, ctx: Context) -> str:
        binary = find_nginx()
        if binary is None:
            return "not installed"
        out = run(self.name, [binary, "-v"], self.log_path(ctx))
        return out.strip().split("/")[-1]
