"""The server bootstrap: one call turns a servicer into a registered, observable mesh server."""

from __future__ import annotations

from mesh.server.config import ServerConfig
from mesh.server.drain import DrainInterceptor
from mesh.server.server import MeshServer
from mesh.server.spec import Servicer, ServiceSpec

__all__ = ["DrainInterceptor", "MeshServer", "ServerConfig", "ServiceSpec", "Servicer"]
