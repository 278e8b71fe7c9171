"""ManagedProcess against real child processes (`sleep`, a shell that ignores SIGTERM)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from mesh.infra import PortInUseError
from mesh.infra.process import ManagedProcess, ProcessSpec


def _spec(tmp_path: Path, argv: list[str], **kw: object) -> ProcessSpec:
    return ProcessSpec(
        name="child",
        argv=argv,
        log_path=tmp_path / "child.log",
        pid_path=tmp_path / "child.pid",
        **kw,
    )  # type: ignore[arg-type]


async def test_start_twice_is_harmless_and_stop_ends_it(tmp_path: Path) -> None:
    proc = ManagedProcess(_spec(tmp_path, ["sleep", "60"]))
    pid, started = proc.start()
    assert started
    again = ManagedProcess(proc.spec)  # another CLI invocation finds it by the pid file
    assert again.start() == (pid, False)
    assert await again.stop() is True
    assert proc.pid() is None
    assert not proc.spec.pid_path.exists()
    assert await again.stop() is False


async def test_stale_pid_file_is_recognised(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["sleep", "60"])
    # Our own pid with a start time that is not ours: a reused pid, not our child.
    spec.pid_path.write_text(f"{os.getpid()} 1\n")
    proc = ManagedProcess(spec)
    assert proc.pid() is None
    assert not spec.pid_path.exists()
    spec.pid_path.write_text("garbage\n")
    assert proc.pid() is None


async def test_sigkill_after_grace_when_sigterm_is_ignored(tmp_path: Path) -> None:
    proc = ManagedProcess(
        _spec(
            tmp_path,
            ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"],
            stop_grace_seconds=0.5,
        )
    )
    pid, _ = proc.start()
    assert await proc.stop() is True
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


async def test_port_in_use_is_reported_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        proc = ManagedProcess(_spec(tmp_path, ["sleep", "60"], ports=(port,)))
        with pytest.raises(PortInUseError, match=f"port {port}"):
            proc.start()
    assert proc.pid() is None


async def test_log_tail_shows_the_child_output(tmp_path: Path) -> None:
    proc = ManagedProcess(_spec(tmp_path, ["sh", "-c", "echo first; echo second"]))
    proc.start()
    while proc.returncode() is None:
        import asyncio

        await asyncio.sleep(0.05)
    assert proc.log_tail(1) == "second"
