"""Formatting Kafka's storage takes any cluster id the generator can produce, including one
that starts with "-" (about one in 64), which must not be read as an option."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.infra import KafkaConfig
from mesh.infra.components import kafka
from mesh.infra.ports import free_ports


async def test_a_cluster_id_starting_with_a_dash_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka, "new_cluster_id", lambda: "-" + "A" * 21)
    port, controller = free_ports(2)
    component = kafka.Kafka(KafkaConfig(port=port, controller_port=controller), tmp_path)
    await component.prepare()
    assert (
        "cluster.id=-AAAAAAAAAAAAAAAAAAAAA" in (component.data_dir / "meta.properties").read_text()
    )
