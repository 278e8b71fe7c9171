"""A service's workers start once the server serves and stop after it drained, in reverse
order, before the on_stop hooks; drain hooks run before the drain."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from mesh.lifecycle import Lifecycle
from mesh.server import MeshServer, ServiceSpec
from mesh.server.config import ServerConfig


class Recorder(Lifecycle):
    def __init__(self, name: str, events: list[str], server: list[MeshServer]) -> None:
        self.name = name
        self.events = events
        self.server = server

    async def start(self) -> None:
        # The server is already accepting calls when a worker starts.
        assert self.server[0].port != 0
        self.events.append(f"start {self.name}")

    async def stop(self) -> None:
        self.events.append(f"stop {self.name}")


async def test_workers_run_between_serving_and_closing() -> None:
    events: list[str] = []
    holder: list[MeshServer] = []

    async def close_store() -> None:
        events.append("close store")

    async def end_streams() -> None:
        events.append("end streams")

    spec = ServiceSpec(
        name="probe",
        servicers=(),
        workers=(Recorder("relay", events, holder), Recorder("consumer", events, holder)),
        on_drain=(end_streams,),
        on_stop=(close_store,),
    )
    config = ServerConfig(
        host="127.0.0.1", register=False, plaintext=True, shutdown_delay_seconds=0
    )
    server = MeshServer(spec, config, registry=CollectorRegistry())
    holder.append(server)
    async with server:
        assert events == ["start relay", "start consumer"]
    assert events == [
        "start relay",
        "start consumer",
        "end streams",
        "stop consumer",
        "stop relay",
        "close store",
    ]
