"""Turn a ServiceSpec into a registered, observable, mTLS grpc.aio server.

The shutdown order is fixed here and nowhere else: health NOT_SERVING → deregister from
Consul → a short delay while clients move away → the grace period starts: every open server
stream and bidi stream is ended with the draining status (`mesh.server.drain`), which callers
reopen on another instance → the service's on_drain hooks → stop accepting and let in-flight
calls finish within what is left of the grace period → stop the service's workers in reverse
order (outbox relays flush, consumers stop) → the service's own on_stop hooks (stores).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import uuid
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry, start_http_server

from mesh.discovery import ConsulClient, Registration
from mesh.lifecycle import Lifecycle
from mesh.server.config import ServerConfig
from mesh.server.drain import DrainInterceptor
from mesh.server.spec import ServiceSpec
from mesh.tls import TlsConfig, load_service_credentials_async

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING


class MeshServer(Lifecycle):
    def __init__(
        self, spec: ServiceSpec, config: ServerConfig, registry: CollectorRegistry | None = None
    ) -> None:
        self.spec = spec
        self.config = config
        self.registry = registry
        self.port = 0
        self.metrics_port = 0
        self.instance_id = ""
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self._consul: ConsulClient | None = None
        self._metrics: Any = None
        self._registered = False
        self._stopped = asyncio.Event()
        self._stopping = False
        self._workers: list[Lifecycle] = []
        self._drain = DrainInterceptor(spec.name)

    @property
    def address(self) -> str:
        return f"{self.config.host}:{self.port}"

    def _health_names(self) -> list[str]:
        return ["", self.spec.name, *(s.full_name for s in self.spec.servicers)]

    async def start(self) -> None:
        if self._server is not None:
            return
        c = self.config
        # The drain interceptor is outermost, so that it sees every stream's whole handler.
        server = grpc.aio.server(
            interceptors=[self._drain, *self.spec.interceptors],
            options=[("grpc.so_reuseport", 0)],
        )
        for servicer in self.spec.servicers:
            servicer.add_to_server(servicer.implementation, server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            [
                *(s.full_name for s in self.spec.servicers),
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        bind = f"{c.host}:{c.port}"
        if c.plaintext:
            log.warning(
                "%s: serving PLAINTEXT on %s (no mTLS); local debugging only", self.spec.name, bind
            )
            self.port = server.add_insecure_port(bind)
        else:
            creds = await load_service_credentials_async(TlsConfig(c.tls_dir), self.spec.name)
            self.port = server.add_secure_port(bind, creds.server_credentials())
        if self.port == 0:
            raise RuntimeError(f"{self.spec.name}: cannot bind {bind} (port in use?)")
        await server.start()
        self._server = server
        for worker in self.spec.workers:
            await worker.start()
            self._workers.append(worker)
        for name in self._health_names():
            await self._health.set(name, SERVING)
        self._start_metrics()
        self.instance_id = f"{self.spec.name}-{c.host}-{self.port}-{uuid.uuid4().hex[:6]}"
        if c.register:
            await self._register()
        log.info(
            "%s serving on %s (metrics on %s:%d)",
            self.spec.name,
            self.address,
            c.host,
            self.metrics_port,
        )

    def _start_metrics(self) -> None:
        kwargs: dict[str, Any] = {} if self.registry is None else {"registry": self.registry}
        httpd, _thread = start_http_server(
            self.config.metrics_port, addr=self.config.host, **kwargs
        )
        self._metrics = httpd
        self.metrics_port = int(httpd.server_port)

    async def _register(self) -> None:
        c = self.config
        self._consul = ConsulClient(c.consul_address)
        registration = Registration(
            name=self.spec.name,
            instance_id=self.instance_id,
            host=c.host,
            port=self.port,
            meta={
                "metrics_port": str(self.metrics_port),
                "version": self.spec.version,
                "pid": str(os.getpid()),
            },
            tls=not c.plaintext,
            check_interval_seconds=c.check_interval_seconds,
            check_timeout_seconds=c.check_timeout_seconds,
            deregister_critical_after_seconds=c.deregister_critical_after_seconds,
        )
        await self._consul.register(registration)
        self._registered = True

    async def stop(self) -> None:
        if self._stopping:
            await self._stopped.wait()
            return
        if self._server is None:
            return
        self._stopping = True
        try:
            await self._health.enter_graceful_shutdown()
            if self._registered and self._consul is not None:
                try:
                    await self._consul.deregister(self.instance_id)
                except Exception as exc:  # Consul gone: the check will fail and expire it
                    log.warning("%s: deregistering failed: %s", self.spec.name, exc)
                self._registered = False
            await asyncio.sleep(self.config.shutdown_delay_seconds)
            loop = asyncio.get_running_loop()
            grace_ends = loop.time() + self.config.grace_seconds
            ended = await self._drain.end_streams(self.config.grace_seconds)
            log.info("%s: draining, ended %d open streams", self.spec.name, ended)
            for hook in self.spec.on_drain:
                try:
                    await hook()
                except Exception:
                    log.exception("%s: drain hook %r failed", self.spec.name, hook)
            await self._server.stop(max(0.0, grace_ends - loop.time()))
            await self._stop_workers()
            for hook in self.spec.on_stop:
                try:
                    await hook()
                except Exception:
                    log.exception("%s: shutdown hook %r failed", self.spec.name, hook)
        finally:
            if self._consul is not None:
                await self._consul.close()
            if self._metrics is not None:
                await asyncio.to_thread(self._metrics.shutdown)
                self._metrics.server_close()
            self._server = None
            self._stopped.set()

    async def _stop_workers(self) -> None:
        while self._workers:
            worker = self._workers.pop()
            try:
                await worker.stop()
            except Exception:
                log.exception("%s: stopping worker %r failed", self.spec.name, worker)

    async def serve_until_signalled(self) -> None:
        """Start, then run until SIGTERM or SIGINT, then stop in order."""
        loop = asyncio.get_running_loop()
        received = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, received.set)
        try:
            await self.start()
            await received.wait()
            log.info("%s: signal received, shutting down", self.spec.name)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)
            await self.stop()
