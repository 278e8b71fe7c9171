"""A small NotificationService used to exercise the runtime: answers with its instance name and
sleeps when asked to (page_token "slow:<seconds>"), so drains and deadlines can be observed;
StreamNotifications sends STREAM_COUNT notifications, one every STREAM_INTERVAL_SECONDS."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.notification.v1 import notification_pb2_grpc as pb_grpc

from mesh.server import MeshServer, ServerConfig, Servicer, ServiceSpec

FULL_NAME = pb.DESCRIPTOR.services_by_name["NotificationService"].full_name
STREAM_COUNT = 20
STREAM_INTERVAL_SECONDS = 0.1


class ProbeNotifications(pb_grpc.NotificationServiceServicer):
    def __init__(self, label: str) -> None:
        self.label = label
        self.calls = 0

    async def ListNotifications(
        self, request: pb.ListNotificationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListNotificationsResponse:
        self.calls += 1
        if request.page_token.startswith("slow:"):
            await asyncio.sleep(float(request.page_token.split(":", 1)[1]))
        return pb.ListNotificationsResponse(
            notifications=[pb.Notification(title=self.label)], unread_count=self.calls
        )

    async def StreamNotifications(
        self, request: pb.StreamNotificationsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamNotificationsResponse]:
        for index in range(STREAM_COUNT):
            if index:
                await asyncio.sleep(STREAM_INTERVAL_SECONDS)
            yield pb.StreamNotificationsResponse(
                notification=pb.Notification(title=f"{self.label}:{index}")
            )


def probe_spec(label: str, name: str = "notification") -> ServiceSpec:
    servicer = Servicer(
        pb_grpc.add_NotificationServiceServicer_to_server, ProbeNotifications(label), FULL_NAME
    )
    return ServiceSpec(name=name, servicers=[servicer])


async def _main(consul: str, tls_dir: str, port_file: str) -> None:
    config = ServerConfig(consul_address=consul, tls_dir=Path(tls_dir), shutdown_delay_seconds=0.5)
    server = MeshServer(probe_spec("subprocess"), config)
    await server.start()
    Path(port_file).write_text(f"{server.port} {server.instance_id}\n")
    await server.serve_until_signalled()


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:4]))
