"""The Kafka broker: one KRaft node (broker + controller) on the JVM, storage formatted once."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import subprocess
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from mesh.infra import paths
from mesh.infra.components.base import Component, NotReady
from mesh.infra.config import KafkaConfig
from mesh.infra.errors import InfraError
from mesh.infra.process import ProcessSpec
from mesh.infra.provision import tools
from mesh.infra.template import render_file

READINESS_TOPIC = "_trademesh.readiness"


def new_cluster_id() -> str:
    """Kafka's cluster id format: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


class Kafka(Component):
    name = "kafka"
    start_timeout_seconds = 90.0

    def __init__(self, config: KafkaConfig, state_dir: Path) -> None:
        super().__init__()
        self.config = config
        self.dir = state_dir / "kafka"
        self.data_dir = self.dir / "data"
        self.properties = self.dir / "server.properties"

    @property
    def address(self) -> str:
        return self.config.bootstrap_servers

    def _java(self, main: str, *args: str, heap_mb: int) -> list[str]:
        return [
            tools.java_binary(),
            f"-Xms{min(heap_mb, 256)}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={paths.repo_root() / 'kafka' / 'log4j2.yaml'}",
            "-cp",
            f"{tools.kafka_libs()}/*",
            main,
            *args,
        ]

    def spec(self) -> ProcessSpec:
        return ProcessSpec(
            name=self.name,
            argv=self._java("kafka.Kafka", str(self.properties), heap_mb=self.config.heap_mb),
            log_path=self.dir / "kafka.log",
            pid_path=self.dir / "kafka.pid",
            ports=(self.config.port, self.config.controller_port),
            stop_grace_seconds=30.0,
        )

    async def prepare(self) -> None:
        render_file(
            paths.repo_root() / "kafka" / "server.properties",
            self.properties,
            {
                "port": self.config.port,
                "controller_port": self.config.controller_port,
                "log_dir": self.data_dir,
            },
        )
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = self._java(
            "kafka.tools.StorageTool",
            "format",
            "--ignore-formatted",
            # One argument: an id may start with "-", which would read as an option.
            f"--cluster-id={new_cluster_id()}",
            "--config",
            str(self.properties),
            heap_mb=128,
        )
        result = await asyncio.to_thread(
            subprocess.run, argv, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise InfraError(
                f"kafka: formatting storage in {self.data_dir} failed "
                f"(exit {result.returncode}):\n{result.stdout}{result.stderr}"
            )

    async def probe(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.address, request_timeout_ms=5000, client_id="trademesh-probe"
        )
        try:
            await admin.start()
            await admin.describe_cluster()
            with contextlib.suppress(TopicAlreadyExistsError):
                result = await admin.create_topics(
                    [NewTopic(READINESS_TOPIC, num_partitions=1, replication_factor=1)]
                )
                for _topic, code, message in getattr(result, "topic_errors", []):
                    if code not in (0, TopicAlreadyExistsError.errno):
                        raise NotReady(f"creating a topic failed: error {code} {message}")
        except KafkaError as exc:
            raise NotReady(f"broker not answering: {exc}") from None
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
