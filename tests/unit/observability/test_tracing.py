"""The process's tracer provider: named for its service, exporting by OTLP when configured."""

from __future__ import annotations

import importlib.util

import pytest

from mesh.observability import configure_tracing


def test_configure_tracing_installs_a_provider_for_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed: list[object] = []
    monkeypatch.setattr("opentelemetry.trace.set_tracer_provider", installed.append)

    provider = configure_tracing("trading", None)

    assert installed == [provider]
    assert provider.resource.attributes["service.name"] == "trading"


def _otlp_exporter_installed() -> bool:
    try:
        return (
            importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
            is not None
        )
    except ModuleNotFoundError:  # a parent package is missing
        return False


def test_configure_tracing_with_an_endpoint_needs_the_otlp_exporter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed: list[object] = []
    monkeypatch.setattr("opentelemetry.trace.set_tracer_provider", installed.append)
    if _otlp_exporter_installed():
        provider = configure_tracing("trading", "http://127.0.0.1:4317")
        assert installed == [provider]
        provider.shutdown()
        return

    with pytest.raises(RuntimeError, match="opentelemetry-exporter-otlp-proto-grpc"):
        configure_tracing("trading", "http://127.0.0.1:4317")
    assert installed == []  # nothing half-configured
