"""The Kafka broker's jars, resolved from Maven Central by kafka/pom.xml."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from mesh.infra import versions
from mesh.infra.provision.step import CachedStep, Context, ProvisionError, require_program, run

MIN_JAVA = 17


def java_major(java: str) -> int:
    out = subprocess.run(
        [java, "-XshowSettings:properties", "-version"], capture_output=True, text=True, check=False
    ).stderr
    match = re.search(r"java\.specification\.version = (\d+)", out)
    return int(match.group(1)) if match else 0


class KafkaStep(CachedStep):
    name = "kafka"
    version = versions.KAFKA

    def build(self, ctx: Context, scratch: Path) -> tuple[str, list[str]]:
        java = require_program(self.name, "java", f"install a Java {MIN_JAVA}+ runtime")
        if (major := java_major(java)) < MIN_JAVA:
            raise ProvisionError(self.name, f"Java {major} found; Kafka needs Java {MIN_JAVA}+")
        mvn = require_program(self.name, "mvn", "install Apache Maven and run again")
        run(
            self.name,
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(ctx.repo / "kafka" / "pom.xml"),
                f"-Dkafka.version={self.version}",
                f"-Dmaven.repo.local={ctx.cache / 'maven'}",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={scratch / 'libs'}",
            ],
            self.log_path(ctx),
        )
        jars = sorted(f"libs/{p.name}" for p in (scratch / "libs").glob("*.jar"))
        if f"libs/kafka_2.13-{self.version}.jar" not in jars:
            raise ProvisionError(
                self.name, "Maven did not resolve the broker jar", self.log_path(ctx)
            )
        return f"resolved org.apache.kafka:kafka_2.13:{self.version} ({len(jars)} jars)", jars

    def version_of(self, ctx: Context, root: Path) -> str:
        java = require_program(self.name, "java", f"install a Java {MIN_JAVA}+ runtime")
        return run(
            self.name,
            [java, "-cp", f"{root / 'libs'}/*", "kafka.Kafka", "--version"],
            self.log_path(ctx),
        )
