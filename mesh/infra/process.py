"""A child process we start, find again by its pid file, and stop: never anybody else's.

The pid file records the pid and the process start time from /proc, so a pid reused by an
unrelated process after a crash or reboot is recognised as stale instead of being signalled.
Children run in their own session so a stop reaches the whole group (nginx workers, JVM threads
are one process but nginx is not) and nothing is orphaned.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mesh.infra.errors import InfraError, PortInUseError
from mesh.infra.ports import port_in_use


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    log_path: Path
    pid_path: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    ports: Sequence[int] = field(default_factory=tuple)
    stop_grace_seconds: float = 15.0


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks); None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces; everything after the last ')' is fixed.
    rest = stat[stat.rindex(")") + 2 :].split()
    state, start = rest[0], rest[19]
    return None if state in ("Z", "X") else start


class ManagedProcess:
    """Start/stop one child with its log and pid file; both calls are safe to repeat."""

    def __init__(self, spec: ProcessSpec) -> None:
        self.spec = spec
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def pid(self) -> int | None:
        """The pid of our running child, or None; removes a stale pid file."""
        if self._popen is not None:
            self._popen.poll()  # reap, so an exited child of ours is not left a zombie
        try:
            pid_text, start = self.spec.pid_path.read_text().split()
            pid = int(pid_text)
        except FileNotFoundError:
            return None
        except ValueError:
            self.spec.pid_path.unlink(missing_ok=True)
            return None
        if _start_time(pid) != start:
            self.spec.pid_path.unlink(missing_ok=True)
            return None
        return pid

    def returncode(self) -> int | None:
        """Exit code if the child we started in this process has exited."""
        return None if self._popen is None else self._popen.poll()

    def start(self) -> tuple[int, bool]:
        """Start the child unless it already runs; returns (pid, started_now)."""
        running = self.pid()
        if running is not None:
            return running, False
        for port in self.spec.ports:
            if port_in_use(port):
                raise PortInUseError(self.spec.name, port)
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.spec.pid_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ if self.spec.env is None else self.spec.env)
        with self.spec.log_path.open("ab") as log:
            try:
                self._popen = subprocess.Popen(
                    list(self.spec.argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.spec.cwd,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise InfraError(
                    f"{self.spec.name}: cannot run {self.spec.argv[0]}: {exc}"
                ) from exc
        pid = self._popen.pid
        start = _start_time(pid)
        if start is None:  # exited before we could even look at it
            return pid, True
        tmp = self.spec.pid_path.with_suffix(".tmp")
        tmp.write_text(f"{pid} {start}\n")
        tmp.replace(self.spec.pid_path)
        return pid, True

    async def stop(self) -> bool:
        """SIGTERM the child's group, SIGKILL after the grace period; True if it was running."""
        pid = self.pid()
        if pid is None:
            return False
        self._signal(pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.spec.stop_grace_seconds
        while self.pid() is not None and loop.time() < deadline:
            await asyncio.sleep(0.1)
        if self.pid() is not None:
            self._signal(pid, signal.SIGKILL)
            while self.pid() is not None:
                await asyncio.sleep(0.05)
        self._signal(pid, signal.SIGKILL, quiet=True)  # stragglers left in the group
        self.spec.pid_path.unlink(missing_ok=True)
        return True

    @staticmethod
    def _signal(pid: int, sig: int, quiet: bool = False) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                if not quiet:
                    os.kill(pid, sig)

    def log_tail(self, lines: int = 30) -> str:
        try:
            with self.spec.log_path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 64 * 1024))
                text = fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.splitlines()[-lines:])
