"""Hundreds of callers abandoning `yield`-style server streams behind the full chain: every
layer's clean-up runs inside the call, so the server neither crashes nor leaks clean-up into
other tasks, and keeps serving. Run in a child process, which a regression would crash."""

from __future__ import annotations

import subprocess
import sys


def test_the_server_survives_callers_abandoning_streams() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.unit.interceptors._endless_stream"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "served after 900 abandoned streams" in done.stdout
    # Clean-up that ran from the garbage collector would reset context variables in a task
    # of its own, which fails loudly.
    assert "different Context" not in done.stderr
    assert "Task exception was never retrieved" not in done.stderr
