"""`python -m services.notification`: the notification service as a mesh server."""

from __future__ import annotations

import sys

from mesh.server import ServiceSpec
from mesh.server.run import RunContext, run_service
from services.notification.app import SERVICE, build_notifications
from services.notification.config import NotificationConfig
from services.runtime import open_runtime


async def build(ctx: RunContext) -> ServiceSpec:
    config = NotificationConfig.load(toml=ctx.toml)
    runtime = await open_runtime(ctx)
    notifications = await build_notifications(config, runtime.events, registry=ctx.registry)
    return notifications.service_spec(runtime.interceptors(), workers=runtime.workers)


if __name__ == "__main__":
    sys.exit(run_service(SERVICE, build))
