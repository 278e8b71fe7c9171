"""What a process loads: the mesh runtime never loads the server interceptors (no cycle), and a
service process never loads the provisioning code just to read its config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SERVICES = sorted(p.parent.name for p in (REPO / "services").glob("*/__main__.py"))

# Provisioning and `make up` machinery: the progress UI, the tool installers and the
# component supervisors (the Kafka one holds an admin client).
PROVISIONING = ("rich", "mesh.infra.provision", "mesh.infra.components")
# Kafka's admin client belongs to a service process only as the event bus's topic set-up.
KAFKA_ADMIN = "aiokafka.admin"


def _loaded_by(*modules: str) -> list[str]:
    """The modules a fresh interpreter holds after importing `modules`."""
    # httpx imports its own command line (click, rich, pygments) whenever they are installed;
    # that is httpx's doing, not ours, so its CLI module is kept out here.
    script = "\n".join(
        [
            "import json, sys",
            "sys.modules['httpx._main'] = None",
            *(f"import {module}" for module in modules),
            "print(json.dumps(sorted(sys.modules)))",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def _under(loaded: list[str], *packages: str) -> list[str]:
    return [m for m in loaded if any(m == p or m.startswith(f"{p}.") for p in packages)]


def test_there_are_services_to_check() -> None:
    assert "identity" in SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_process_does_not_load_provisioning(service: str) -> None:
    loaded = _loaded_by(f"services.{service}.__main__", f"services.{service}.config")

    assert f"services.{service}.__main__" in loaded
    assert _under(loaded, *PROVISIONING) == []
    if "mesh.events" not in loaded:
        assert _under(loaded, KAFKA_ADMIN) == []


def test_the_mesh_runtime_does_not_load_the_server_interceptors() -> None:
    loaded = _loaded_by(
        "mesh.client", "mesh.server", "mesh.server.run", "mesh.observability", "mesh.discovery"
    )

    assert "mesh.client.interceptors" in loaded
    assert _under(loaded, "interceptors") == []
    assert _under(loaded, *PROVISIONING, KAFKA_ADMIN) == []
