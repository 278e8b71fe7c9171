"""A throwaway PostgreSQL cluster for tests: initdb in a temp dir, pg_ctl on a free port.

PostgreSQL refuses to run as root. Run as root (as in CI containers), the cluster belongs to
the `postgres` system user and every server command runs through `runuser -u postgres --`;
as anyone else it simply runs as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from mesh.infra.ports import free_port
from mesh.infra.provision.apt import find_postgres_bindir

START_TIMEOUT_SECONDS = 60
_LOG_TAIL_CHARS = 4000


class PostgresStartError(RuntimeError):
    """The cluster could not be created or started; the message ends with the server log."""


def find_bindir() -> Path:
    """`$TRADEMESH_PG_BIN`, else the newest Debian PostgreSQL that provisioning installed."""
    found = os.environ.get("TRADEMESH_PG_BIN") or find_postgres_bindir()
    if found and (Path(found) / "initdb").is_file() and (Path(found) / "pg_ctl").is_file():
        return Path(found)
    raise PostgresStartError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; run `make provision` or set "
        "TRADEMESH_PG_BIN to their directory"
    )


def _run_as() -> tuple[list[str], pwd.struct_passwd | None]:
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresStartError(
            "running as root, but there is no 'postgres' system user to own the test cluster "
            "(PostgreSQL refuses to run as root); create one or run the tests as another user"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresStartError("running as root, but runuser is not available")
    return [runuser, "-u", "postgres", "--"], user


class PostgresServer:
    """One cluster; `start()` then `url(dbname)`, `create_database()`, and `stop()`."""

    def __init__(self) -> None:
        self._bindir = find_bindir()
        self._prefix, self._owner = _run_as()
        # Not under pytest's tmp dir: that is private to the current user, and the server
        # may run as another one.
        self.root = Path(tempfile.mkdtemp(prefix="trademesh-pg-"))
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self.port = 0
        self._started = False

    def _command(self, tool: str, *args: str) -> list[str]:
        return [*self._prefix, str(self._bindir / tool), *args]

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-_LOG_TAIL_CHARS:]
        except OSError:
            return "(no server log)"

    def start(self) -> None:
        if self._owner is not None:
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)
        self.root.chmod(0o700)
        init = subprocess.run(
            self._command(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ),
            capture_output=True,
            text=True,
        )
        if init.returncode != 0:
            raise PostgresStartError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        # A free port can be taken between our check and the server's bind: try another.
        for _attempt in range(3):
            self.port = free_port()
            self.log_file.unlink(missing_ok=True)
            started = self._pg_ctl_start()
            if started.returncode == 0:
                break
            if "could not bind" not in self._log_tail():
                break
        if started.returncode != 0:
            raise PostgresStartError(
                f"pg_ctl start failed (port {self.port}):\n{started.stdout}\n{started.stderr}\n"
                f"--- server log ---\n{self._log_tail()}"
            )
        self._started = True

    def _pg_ctl_start(self) -> subprocess.CompletedProcess[str]:
        options = " ".join(
            (
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                # Durability is of no use to a throwaway cluster.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            )
        )
        return subprocess.run(
            self._command(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "-o",
                options,
                "start",
            ),
            capture_output=True,
            text=True,
        )

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        try:
            if self._started:
                subprocess.run(
                    self._command("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"),
                    capture_output=True,
                    text=True,
                    timeout=START_TIMEOUT_SECONDS,
                )
                self._started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
